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
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema
from synthgan.tabular.encoders import CategoricalEncoder, ContinuousEncoder, IdentifierGenerator

NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)


@dataclass(frozen=True)
class Span:
    column: str
    kind: str  # "tanh" | "softmax"
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

    def __init__(self, max_modes: int = 10, gmm_subsample: int = 5_000, enforce_bounds: bool = True):
        self.max_modes = max_modes
        self.gmm_subsample = gmm_subsample
        self.enforce_bounds = enforce_bounds

    def fit(self, df: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> "TableTransformer":
        self.schema = schema
        self.encoders = {}
        for col in schema.columns:
            values = df[col.name]
            if col.kind in NUMERIC:
                enc = ContinuousEncoder(self.max_modes, self.gmm_subsample)
                self.encoders[col.name] = enc.fit(_as_float(values, col.kind), rng)
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
        blocks = []
        for col in self.modelled:
            values = df[col.name]
            if col.kind in NUMERIC:
                values = _as_float(values, col.kind)
            blocks.append(self.encoders[col.name].transform(values, rng))
        if not blocks:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1)

    def decode(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matrix -> (tanh scalars, argmax of every softmax span), the input of inverse."""
        scalars = matrix[:, self.layout.tanh_index]
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
            n_tanh = sum(s.kind == "tanh" for s in enc.spans)
            n_soft = sum(s.kind == "softmax" for s in enc.spans)
            values = enc.inverse(scalars[:, t : t + n_tanh], choices[:, c : c + n_soft], self.enforce_bounds)
            t, c = t + n_tanh, c + n_soft
            columns[col.name] = _restore(values, col)
        return pd.DataFrame(columns, index=pd.RangeIndex(n))

    def state(self) -> dict:
        return {
            "max_modes": self.max_modes,
            "gmm_subsample": self.gmm_subsample,
            "enforce_bounds": self.enforce_bounds,
            "schema": self.schema.to_json(),
            "encoders": [self.encoders[c.name].state() for c in self.schema.columns],
        }

    @classmethod
    def from_state(cls, state: dict) -> "TableTransformer":
        tt = cls(state["max_modes"], state["gmm_subsample"], state["enforce_bounds"])
        tt.schema = Schema.from_json(state["schema"])
        tt.encoders = {}
        for col, enc_state in zip(tt.schema.columns, state["encoders"]):
            if col.kind in NUMERIC:
                tt.encoders[col.name] = ContinuousEncoder.from_state(enc_state)
            elif col.kind in DISCRETE_KINDS:
                tt.encoders[col.name] = CategoricalEncoder.from_state(enc_state)
            else:
                tt.encoders[col.name] = IdentifierGenerator.from_state(enc_state)
        tt.layout = tt._build_layout()
        return tt


def _as_float(values: pd.Series, kind: ColumnKind) -> np.ndarray:
    if kind is ColumnKind.DATETIME:
        ns = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        ns = ns.astype("datetime64[ns]")
        out = ns.to_numpy().astype("int64").astype("float64")
        out[ns.isna().to_numpy()] = np.nan
        return out
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _restore(values: np.ndarray, col) -> pd.Series:
    """Give generated values the training column's dtype back."""
    dtype = col.dtype
    if col.kind is ColumnKind.INTEGER:
        values = np.round(values)
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
