"""Table <-> matrix: the fitted encoders of every column and the frozen span layout.

``TableTransformer.transform`` gives the float32 matrix the GAN trains on;
``decode`` + ``inverse_transform`` turn generator output back into a DataFrame with the
original columns and dtypes. The :class:`Layout` precomputes every index the networks,
the losses and the sampler need, so they work on whole slices, never per span per row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.errors import SynthGANError
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema, observed_decimals
from synthgan.tabular.encoders import CategoricalEncoder, ContinuousEncoder, IdentifierGenerator, QuantileEncoder

NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)
#: how numeric columns are encoded: a quantile (Gaussianising) transform, or CTGAN's
#: mode-specific normalisation with a variational Gaussian mixture
CONTINUOUS_ENCODINGS = ("quantile", "mixture")
#: span kinds that hold one number: ``tanh`` (bounded) and ``linear`` (unbounded normal scores)
SCALAR_KINDS = ("tanh", "linear")


@dataclass(frozen=True)
class Span:
    column: str
    kind: str  # "tanh" | "linear" | "softmax"
    role: str  # "value" | "mode" | "missing" | "category"
    start: int
    end: int


@dataclass(frozen=True)
class Layout:
    """Where every column's outputs sit in the model matrix, and the derived index arrays."""

    spans: tuple[Span, ...]
    width: int

    @property
    def tanh_index(self) -> np.ndarray:
        return np.array([s.start for s in self.spans if s.kind == "tanh"], dtype=np.int64)

    @property
    def scalar_index(self) -> np.ndarray:
        """Positions of every scalar output (``tanh`` and ``linear``), in layout order."""
        return np.array([s.start for s in self.spans if s.kind in SCALAR_KINDS], dtype=np.int64)

    @property
    def scalar_is_tanh(self) -> np.ndarray:
        """For each entry of ``scalar_index``: whether the network squashes it with tanh."""
        return np.array([s.kind == "tanh" for s in self.spans if s.kind in SCALAR_KINDS], dtype=bool)

    @property
    def softmax_spans(self) -> list[Span]:
        return [s for s in self.spans if s.kind == "softmax"]

    @property
    def softmax_index(self) -> np.ndarray:
        return np.concatenate(
            [np.arange(s.start, s.end) for s in self.softmax_spans] or [np.empty(0, np.int64)]
        ).astype(np.int64)

    @property
    def softmax_segment(self) -> np.ndarray:
        """Segment number of every softmax position (for segmented softmax and argmax)."""
        return np.concatenate(
            [np.full(s.end - s.start, i) for i, s in enumerate(self.softmax_spans)]
            or [np.empty(0, np.int64)]
        ).astype(np.int64)

    @property
    def condition_spans(self) -> list[Span]:
        """Category spans of discrete columns: what the conditional vector ranges over."""
        return [s for s in self.spans if s.role == "category"]

    @property
    def condition_index(self) -> np.ndarray:
        """Matrix positions that make up the conditional vector, in order."""
        return np.concatenate(
            [np.arange(s.start, s.end) for s in self.condition_spans] or [np.empty(0, np.int64)]
        ).astype(np.int64)

    @property
    def condition_width(self) -> int:
        return sum(s.end - s.start for s in self.condition_spans)


class TableTransformer:
    """Fits one encoder per column and lays their spans out side by side."""

    def __init__(
        self,
        max_modes: int = 10,
        gmm_subsample: int = 5_000,
        enforce_bounds: bool = True,
        continuous_encoding: str = "quantile",
    ):
        if continuous_encoding not in CONTINUOUS_ENCODINGS:
            raise ValueError(f"continuous_encoding must be one of {CONTINUOUS_ENCODINGS}, got {continuous_encoding!r}")
        self.max_modes = max_modes
        self.gmm_subsample = gmm_subsample
        self.enforce_bounds = enforce_bounds
        self.continuous_encoding = continuous_encoding

    def _numeric_encoder(self):
        if self.continuous_encoding == "quantile":
            return QuantileEncoder()
        return ContinuousEncoder(self.max_modes, self.gmm_subsample)

    def fit(self, df: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> "TableTransformer":
        self.schema = schema
        df = schema.canonical(df)  # dates as text or objects, Decimals...: see synthgan.forms
        self.encoders = {}
        #: decimals each continuous column was recorded with; generated values are rounded to them
        self.decimals = {}
        #: the resolution (ns) each datetime column was recorded at (whole days, hours, seconds...)
        self.steps = {}
        #: exact [min, max] of integer-dtype columns: float64 cannot hold int64 / uint64 values
        #: beyond 2**53, so generated values are clipped to these as integers
        self.int_bounds = {}
        for col in schema.columns:
            values = df[col.name]
            if col.kind in NUMERIC:
                numbers = column_floats(values, col.kind)
                self.encoders[col.name] = self._numeric_encoder().fit(numbers, rng)
                if col.kind is ColumnKind.CONTINUOUS:
                    self.decimals[col.name] = observed_decimals(numbers)
                if pd.api.types.is_integer_dtype(values) and values.notna().any():
                    self.int_bounds[col.name] = [int(values.min()), int(values.max())]
                elif col.kind is ColumnKind.DATETIME:
                    self.steps[col.name] = datetime_step(numbers, col.timezone is not None)
            elif col.kind in DISCRETE_KINDS:
                self.encoders[col.name] = CategoricalEncoder().fit(values)
            else:
                self.encoders[col.name] = IdentifierGenerator().fit(values)
        self.layout = self._build_layout()
        return self

    @property
    def modelled(self) -> list:
        """Columns that have spans in the matrix (identifiers are generated, not modelled)."""
        return [c for c in self.schema.columns if c.kind is not ColumnKind.ID]

    def _build_layout(self) -> Layout:
        spans, offset = [], 0
        for col in self.modelled:
            for spec in self.encoders[col.name].spans:
                spans.append(Span(col.name, spec.kind, spec.role, offset, offset + spec.width))
                offset += spec.width
        return Layout(tuple(spans), offset)

    def transform(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        df = self.schema.canonical(df)
        blocks = []
        for col in self.modelled:
            values = df[col.name]
            if col.kind in NUMERIC:
                values = column_floats(values, col.kind)
            blocks.append(self.encoders[col.name].transform(values, rng))
        if not blocks:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1)

    def decode(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matrix -> (scalars, argmax of every softmax span), the input of inverse."""
        scalars = matrix[:, self.layout.scalar_index]
        choices = np.stack(
            [matrix[:, s.start : s.end].argmax(axis=1) for s in self.layout.softmax_spans], axis=1
        ) if self.layout.softmax_spans else np.zeros((len(matrix), 0), dtype=np.int64)
        return scalars, choices

    def inverse_transform(
        self, scalars: np.ndarray, choices: np.ndarray, rng: np.random.Generator
    ) -> pd.DataFrame:
        """Rebuild a DataFrame with the training columns, in order, with their dtypes."""
        n = len(scalars)
        columns, t, c = {}, 0, 0
        for col in self.schema.columns:
            enc = self.encoders[col.name]
            if col.kind is ColumnKind.ID:
                columns[col.name] = _restore(enc.generate(n, rng), col)
                continue
            n_tanh = sum(s.kind in SCALAR_KINDS for s in enc.spans)
            n_soft = sum(s.kind == "softmax" for s in enc.spans)
            values = enc.inverse(scalars[:, t : t + n_tanh], choices[:, c : c + n_soft], self.enforce_bounds)
            t, c = t + n_tanh, c + n_soft
            if self.decimals.get(col.name) is not None:
                values = np.round(values, self.decimals[col.name])
            elif col.name in self.steps:
                values = np.round(values / self.steps[col.name]) * self.steps[col.name]
            columns[col.name] = _restore(values, col, self.int_bounds.get(col.name))
        return self.schema.restore_forms(pd.DataFrame(columns, index=pd.RangeIndex(n)))

    def state(self) -> dict:
        return {
            "max_modes": self.max_modes,
            "gmm_subsample": self.gmm_subsample,
            "enforce_bounds": self.enforce_bounds,
            "continuous_encoding": self.continuous_encoding,
            "decimals": self.decimals,
            "steps": self.steps,
            "int_bounds": self.int_bounds,
            "schema": self.schema.to_json(),
            "encoders": [self.encoders[c.name].state() for c in self.schema.columns],
        }

    @classmethod
    def from_state(cls, state: dict) -> "TableTransformer":
        # files written before the quantile encoding (format 1 models) used the mixture throughout
        encoding = state.get("continuous_encoding", "mixture")
        tt = cls(state["max_modes"], state["gmm_subsample"], state["enforce_bounds"], encoding)
        tt.schema = Schema.from_json(state["schema"])
        tt.decimals = dict(state.get("decimals", {}))
        tt.steps = dict(state.get("steps", {}))
        tt.int_bounds = {k: [int(v[0]), int(v[1])] for k, v in state.get("int_bounds", {}).items()}
        tt.encoders = {}
        for col, enc_state in zip(tt.schema.columns, state["encoders"]):
            if col.kind in NUMERIC:
                numeric = QuantileEncoder if enc_state.get("encoding") == "quantile" else ContinuousEncoder
                tt.encoders[col.name] = numeric.from_state(enc_state)
            elif col.kind in DISCRETE_KINDS:
                tt.encoders[col.name] = CategoricalEncoder.from_state(enc_state)
            else:
                tt.encoders[col.name] = IdentifierGenerator.from_state(enc_state)
        tt.layout = tt._build_layout()
        return tt


#: resolutions a datetime column can be recorded at, coarsest first (ns); whole days only for
#: naive datetimes (a zone's midnight is not UTC's), minutes at most for zoned ones (some
#: zones are offset by 30 or 45 minutes)
DATETIME_STEPS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3)


def datetime_step(ns: np.ndarray, zoned: bool) -> int:
    """The coarsest resolution (in ns) that every observed value of a datetime column sits on."""
    finite = ns[np.isfinite(ns)].astype(np.int64)
    for step in DATETIME_STEPS:
        if zoned and step > 60 * 10**9:
            continue
        if np.all(finite % step == 0):
            return step
    return 1


def column_floats(values: pd.Series, kind: ColumnKind) -> np.ndarray:
    """A numeric or datetime column as float64 (datetimes as UTC nanoseconds), NaN for missing."""
    if kind is ColumnKind.DATETIME:
        ns = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        ns = ns.astype("datetime64[ns]")
        out = ns.to_numpy().astype("int64").astype("float64")
        out[ns.isna().to_numpy()] = np.nan
        return out
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _restore(values: np.ndarray, col, int_bounds: list | None = None) -> pd.Series:
    """Give generated values the training column's dtype back.

    ``int_bounds``: the exact observed [min, max] of an integer-dtype column; values are
    clipped to it as integers, so a column near the ends of int64 / uint64 never wraps round.
    """
    dtype = col.dtype
    if col.kind is ColumnKind.INTEGER:
        values = np.round(values)
    if int_bounds is not None:
        return _restore_integers(values, col, int_bounds)
    if col.kind is ColumnKind.DATETIME:
        ints = np.where(np.isnan(values), 0, np.round(values)).astype("int64")
        out = pd.Series(pd.to_datetime(ints, unit="ns", utc=col.timezone is not None))
        out[np.isnan(values)] = pd.NaT
        if col.timezone is not None:
            out = out.dt.tz_convert(col.timezone)
        return out.astype(dtype)
    if dtype == "category":
        return pd.Series(pd.Categorical(values, categories=list(col.categories)))
    series = pd.Series(values)
    if dtype == "object":
        return series.astype(object)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return series.astype(dtype)
    except (TypeError, ValueError) as exc:  # e.g. NaN into int64: cannot happen for fitted data
        raise SynthGANError(f"column {col.name!r}: cannot restore dtype {dtype}: {exc}") from exc


def _restore_integers(values: np.ndarray, col, int_bounds: list) -> pd.Series:
    """Floats -> an integer dtype, clipped to the observed range in integer arithmetic."""
    low, high = int_bounds
    missing = np.isnan(values)
    unsigned = low >= 0 and high > np.iinfo(np.int64).max
    wide = np.uint64 if unsigned else np.int64
    info = np.iinfo(wide)
    # the largest floats that convert without overflow (float(2**63 - 1) is 2**63)
    top = np.nextafter(float(info.max), 0.0) if float(info.max) > info.max else float(info.max)
    ints = np.clip(np.where(missing, 0.0, values), float(info.min), top).astype(wide)
    ints = np.clip(ints, wide(low), wide(high))
    if missing.any():
        series = pd.Series(pd.array(ints, dtype="UInt64" if unsigned else "Int64"))
        series[missing] = pd.NA
    else:
        series = pd.Series(ints)
    try:
        return series.astype(col.dtype)
    except (TypeError, ValueError) as exc:
        raise SynthGANError(f"column {col.name!r}: cannot restore dtype {col.dtype}: {exc}") from exc
