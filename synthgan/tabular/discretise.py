"""Columns <-> integer codes for the marginal-based private synthesizers, paid from the budget.

A marginal-based mechanism works on a finite domain per column. Building it reads the data,
so every statistic here is noisy: Gaussian noise, accounted in zCDP on the same ledger as
the mechanism (:mod:`synthgan.tabular.zcdp`). Each row adds one count to every histogram
below, so with ``H`` histograms the L2 sensitivity is ``sqrt(H)`` and one noise level
``sigma`` costs ``H / (2 sigma^2)``:

- **categories** (no public list): the noisy count of every observed category; only those
  over the threshold ``tau = 1 + sigma * z(1 - delta_key)`` are released, so a category
  seen in few rows (once, say) is released with probability at most ``delta_key`` (the
  Gaussian thresholded histogram over an unknown domain; the failure probabilities of all
  columns add to the fit's delta). Rows of an unreleased category are modelled as the most
  frequent released one (as DP-CTGAN does). Missing values are a public key, kept when
  their noisy count clears ``3 sigma``.
- **bounds** of numeric and datetime columns (no public bounds): noisy counts over public
  power-of-two bins (the bins of DP-CTGAN's private bounds); the outermost bins whose noisy
  count clears ``sigma * z(1 - 0.1 / bins)`` give the range (values clipped to it).
- **bins**: one noisy histogram per numeric column over a public fine partition of its range:
  one bin per integer when an integer column spans at most :data:`FINE_BINS` values, else
  :data:`FINE_BINS` equal-width bins plus an exact-zero bin. Adjacent fine bins are merged
  into about ``bins`` coarse bins of equal noisy mass; a fine bin heavier than that stays
  alone (a spike such as ``hours-per-week = 40``, or ``capital-gain = 0``, keeps its exact
  value).

Decoding a coarse code draws a fine bin in proportion to its (clipped) noisy count, then a
value uniformly inside it (an integer for integer columns; exactly 0 in the zero bin):
post-processing, free of privacy cost.

The Laplace statistics of DP-CTGAN (:mod:`synthgan.tabular.private`) were tried here first
and measured: composed in pure epsilon-DP over Adult's 15 columns at epsilon 3 (a tenth for
domains), their release threshold was about 1,400 rows and dropped most of ``education``'s
categories; the Gaussian threshold at the same share is about 150.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scipy.special import ndtri

from synthgan.errors import ConfigError, DataError
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema
from synthgan.tabular.encoders import SPREAD, CategoricalEncoder, ContinuousEncoder
from synthgan.tabular.private import EXPONENTS, _back, _blank_ids, _can_be_missing  # shared with DP-CTGAN
from synthgan.tabular.transformer import NUMERIC, TableTransformer, _restore, column_floats

#: fine bins of a numeric column's noisy histogram
FINE_BINS = 128


@dataclass
class Bins:
    """A numeric column's partition: fine bins ``[edges[i], edges[i+1])`` (the last one closed),
    an optional exact-zero fine bin (index ``len(edges) - 1``), their noisy weights, and the
    coarse bin of every fine bin. A released missing value is the last coarse code."""

    edges: np.ndarray
    zero: bool
    integer: bool
    weights: np.ndarray  # per fine bin, clipped at 0
    coarse: np.ndarray  # per fine bin: its coarse code
    has_missing: bool

    @property
    def n_fine(self) -> int:
        return len(self.edges) - 1 + int(self.zero)

    @property
    def size(self) -> int:
        return int(self.coarse.max()) + 1 + int(self.has_missing)

    def fine_codes(self, floats: np.ndarray) -> np.ndarray:
        inner = np.clip(np.searchsorted(self.edges, floats, side="right") - 1, 0, len(self.edges) - 2)
        if self.zero:
            inner = np.where(floats == 0, len(self.edges) - 1, inner)
        return inner

    def codes(self, floats: np.ndarray) -> np.ndarray:
        missing = np.isnan(floats)
        out = self.coarse[self.fine_codes(np.where(missing, self.edges[0], floats))]
        if self.has_missing:
            out = np.where(missing, self.size - 1, out)
        return out

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_coarse = int(self.coarse.max()) + 1
        out = np.full(len(codes), np.nan)
        for code in range(n_coarse):
            rows = np.flatnonzero(codes == code)
            if not len(rows):
                continue
            members = np.flatnonzero(self.coarse == code)
            w = self.weights[members] + 1e-12
            fine = members[rng.choice(len(members), size=len(rows), p=w / w.sum())]
            out[rows] = self._inside(fine, rng)
        return out

    def _inside(self, fine: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        last = len(self.edges) - 1
        inner = np.minimum(fine, last - 1)
        low, high = self.edges[inner], self.edges[inner + 1]
        if self.integer:
            first, stop = np.ceil(low), np.ceil(high)
            stop = np.where(inner == last - 1, np.floor(high) + 1, stop)  # the last bin is closed
            stop = np.maximum(stop, first + 1)
            values = first + np.floor(rng.random(len(fine)) * (stop - first))
        else:
            values = low + rng.random(len(fine)) * (high - low)
        return np.where(fine == last, 0.0, values) if self.zero else values

    def to_json(self) -> dict:
        return {
            "edges": self.edges.tolist(), "zero": self.zero, "integer": self.integer,
            "weights": self.weights.tolist(), "coarse": self.coarse.tolist(), "has_missing": self.has_missing,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Bins":
        return cls(
            np.asarray(data["edges"], float), bool(data["zero"]), bool(data["integer"]),
            np.asarray(data["weights"], float), np.asarray(data["coarse"], np.int64), bool(data["has_missing"]),
        )


def fine_partition(low: float, high: float, integer: bool) -> tuple[np.ndarray, bool]:
    """Public fine edges over ``[low, high]`` and whether an exact-zero bin is added."""
    if integer and high - low + 1 <= FINE_BINS:
        return np.arange(math.floor(low), math.floor(high) + 2, dtype=float), False
    return np.linspace(low, high, FINE_BINS + 1), bool(low <= 0 <= high)


def merge_bins(weights: np.ndarray, bins: int) -> np.ndarray:
    """Coarse code of each fine bin: consecutive fine bins merged until each coarse bin holds
    about ``1 / bins`` of the mass; a fine bin holding that much or more is a coarse bin of its
    own. Codes run 0..k-1 in order. Post-processing of the noisy ``weights``."""
    total = weights.sum()
    target = total / bins if total > 0 else np.inf
    coarse = np.zeros(len(weights), dtype=np.int64)
    code, acc, opened = 0, 0.0, False
    for i, w in enumerate(weights):
        if w >= target:
            if opened:
                code += 1
            coarse[i] = code
            code, acc, opened = code + 1, 0.0, False
            continue
        coarse[i] = code
        acc, opened = acc + w, True
        if acc >= target:
            code, acc, opened = code + 1, 0.0, False
    _, coarse = np.unique(coarse, return_inverse=True)  # dense codes, in order
    return coarse


class Codec:
    """The finite domain of every modelled column and the maps codes <-> values.

    Built by :func:`fit_codec` from the private transformer's released domains and private
    bins; identifier columns are not modelled (generated fresh, as in DP-CTGAN).
    """

    def __init__(self, transformer: TableTransformer, bins: dict[str, Bins]):
        self.transformer = transformer
        self.bins = bins

    @property
    def schema(self) -> Schema:
        return self.transformer.schema

    @property
    def modelled(self) -> list[str]:
        return [c.name for c in self.schema.columns if c.kind is not ColumnKind.ID]

    @property
    def sizes(self) -> dict[str, int]:
        out = {}
        for name in self.modelled:
            enc = self.transformer.encoders[name]
            out[name] = self.bins[name].size if name in self.bins else enc.width
        return out

    def encode(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """``{column: codes}`` of a table already mapped onto the released domains."""
        out = {}
        for col in self.schema.columns:
            if col.kind is ColumnKind.ID:
                continue
            if col.name in self.bins:
                out[col.name] = self.bins[col.name].codes(column_floats(df[col.name], col.kind))
            else:
                codes = self.transformer.encoders[col.name].codes(df[col.name])
                if (codes < 0).any():  # cannot happen after private_transformer's mapping
                    raise AssertionError(f"column {col.name!r}: a value outside its released domain")
                out[col.name] = codes
        return out

    def decode(self, codes: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> pd.DataFrame:
        """Rows in the training columns' dtypes and forms from ``{column: codes}``."""
        columns = {}
        for col in self.schema.columns:
            enc = self.transformer.encoders[col.name]
            if col.kind is ColumnKind.ID:
                columns[col.name] = _restore(enc.generate(n, rng), col)
                continue
            c = np.asarray(codes[col.name], dtype=np.int64)
            if col.name in self.bins:
                values = self.bins[col.name].decode(c, rng)
                if col.kind is ColumnKind.DATETIME:
                    values = np.round(values)
            else:
                values = enc.inverse(None, c[:, None], False)
            columns[col.name] = _restore(values, col)
        return self.schema.restore_forms(pd.DataFrame(columns, index=pd.RangeIndex(n)))

    def to_json(self) -> dict:
        return {"transformer": self.transformer.state(), "bins": {k: b.to_json() for k, b in self.bins.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Codec":
        return cls(
            TableTransformer.from_state(data["transformer"]),
            {k: Bins.from_json(v) for k, v in data["bins"].items()},
        )


def histogram_count(schema: Schema, bounds: dict, categories: dict) -> int:
    """How many noisy histograms :func:`fit_codec` releases (each row adds one count to each):
    the L2 sensitivity squared. Public category lists, booleans and category dtypes cost
    one each too (their counts decide missingness and nothing else is released for free)."""
    count = 0
    for col in schema.columns:
        if col.kind is ColumnKind.ID:
            continue
        count += 1 if col.kind in DISCRETE_KINDS else (1 if col.name in bounds else 2)
    return count


def release_threshold(sigma: float, delta_key: float) -> float:
    """Noisy count a category of an unknown domain needs before it is released."""
    return 1.0 + sigma * float(ndtri(1.0 - delta_key))


def fit_codec(
    df: pd.DataFrame, schema: Schema, *, bounds: dict, categories: dict, bins: int, sigma: float,
    delta_key: float, rng: np.random.Generator,
) -> tuple["Codec", pd.DataFrame]:
    """Private domains and bins (see the module docstring), and the table mapped onto them
    (unreleased categories to the most frequent released one, numbers clipped to the
    bounds). ``sigma``: the Gaussian noise of every histogram; ``delta_key``: the chance a
    category of one row is released, per column. Raises ``ConfigError`` for public bounds
    or categories that name no column of the right kind, ``DataError`` for a column whose
    domain cannot be released at this noise (it says what to give)."""
    _check_public(schema, bounds, categories)
    tt = TableTransformer(1, 1, True, "mixture")
    tt.schema, tt.encoders, tt.decimals, tt.steps, tt.int_bounds = schema, {}, {}, {}, {}
    tau = release_threshold(sigma, delta_key)
    mapped = df.copy()
    numeric = []
    for col in schema.columns:
        values = df[col.name]
        if col.kind is ColumnKind.ID:
            tt.encoders[col.name] = _blank_ids(values)
        elif col.kind in DISCRETE_KINDS:
            public = categories.get(col.name)
            if public is None and col.kind is ColumnKind.BOOLEAN:
                public = [False, True]
            if public is None and isinstance(values.dtype, pd.CategoricalDtype):
                public = list(values.dtype.categories)
            enc, mapped[col.name] = _categories(col.name, values, public, sigma, tau, rng)
            tt.encoders[col.name] = enc
        else:
            floats = column_floats(values, col.kind)
            low, high = bounds[col.name] if col.name in bounds else _bounds(col.name, floats, sigma, rng)
            enc = ContinuousEncoder(1, 1)
            enc.low, enc.high = float(low), float(high)
            enc.center, enc.scale = (low + high) / 2, (high - low) / (2 * SPREAD)
            enc.means, enc.stds, enc.log_weights = np.zeros(1), np.ones(1), np.zeros(1)
            enc.has_missing = False  # decided with the bins' missing key below
            tt.encoders[col.name] = enc
            mapped[col.name] = _back(np.clip(floats, low, high), values, col.kind)
            numeric.append(col)
    out = {}
    for col in numeric:
        out[col.name] = _bins(col, tt.encoders[col.name], mapped[col.name], df[col.name], bins, sigma, rng)
        tt.encoders[col.name].has_missing = out[col.name].has_missing
    tt.layout = tt._build_layout()
    return Codec(tt, out), mapped


def _check_public(schema: Schema, bounds: dict, categories: dict) -> None:
    kinds = {c.name: c.kind for c in schema.columns}
    for option, given, allowed in (("bounds", bounds, NUMERIC), ("categories", categories, DISCRETE_KINDS)):
        for name in given:
            if name not in kinds:
                raise ConfigError(f"{option}: {name!r} is not a column of the table")
            if kinds[name] not in allowed:
                raise ConfigError(f"{option}: column {name!r} is {kinds[name].value}, not {option[:-1]}-able")
    for name, pair in bounds.items():
        low, high = pair
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"bounds[{name!r}] = ({low}, {high}): need finite low < high")


def _categories(name, values: pd.Series, public, sigma, tau, rng):
    observed = values.dropna()
    counts = observed.value_counts()
    if public is not None:
        keys = list(public)
        extra = set(pd.unique(observed)) - set(keys)
        if extra:
            raise DataError(f"column {name!r} holds values outside its public category list: {sorted(map(str, extra))[:5]}")
        noisy = counts.reindex(keys, fill_value=0).to_numpy(float) + rng.normal(0, sigma, len(keys))
        released = np.ones(len(keys), dtype=bool)
    else:
        keys = list(counts.index)
        noisy = counts.to_numpy(float) + rng.normal(0, sigma, len(keys))
        released = noisy >= tau
    missing = 0.0
    if _can_be_missing(values):
        missing = float(values.isna().sum()) + rng.normal(0, sigma)
        missing = missing if missing >= 3 * sigma else 0.0
    if not released.any():
        raise DataError(
            f"column {name!r}: no category has enough rows to be released under this privacy budget (a category "
            f"needs about {tau:.0f} rows); give its categories with categories={{{name!r}: [...]}}, raise epsilon, "
            "or drop the column"
        )
    kept = [k for k, r in zip(keys, released) if r]
    freq = np.maximum(noisy[released], 0.0) + 1.0
    try:
        order = np.argsort(np.array(kept, dtype=object))
        kept, freq = [kept[i] for i in order], freq[order]
    except TypeError:
        pass
    enc = CategoricalEncoder()
    enc.categories = [v.item() if isinstance(v, np.generic) else v for v in kept]
    enc.has_missing = bool(missing > 0)
    enc.frequencies = freq.tolist() + ([missing] if enc.has_missing else [])
    top = enc.categories[int(np.argmax(freq))]
    known = values.isin(enc.categories) | (values.isna() & enc.has_missing)
    mapped = values.astype(object).where(known, top)
    if isinstance(values.dtype, pd.CategoricalDtype):
        mapped = pd.Categorical(mapped, categories=values.dtype.categories)
    return enc, mapped


def _bounds(name: str, floats: np.ndarray, sigma: float, rng) -> tuple[float, float]:
    edges = np.concatenate([-(2.0 ** EXPONENTS[::-1]), [0.0], 2.0 ** EXPONENTS])
    observed = floats[~np.isnan(floats)]
    if len(observed) and np.abs(observed).max() > edges[-1]:
        raise DataError(f"column {name!r}: values beyond +-2^{EXPONENTS[-1]}; give bounds={{{name!r}: (low, high)}}")
    counts = np.bincount(np.searchsorted(edges, observed), minlength=len(edges) + 1).astype(float)
    noisy = counts + rng.normal(0, sigma, len(counts))
    # public bins: any cut is safe; this one lets a pure-noise bin through with probability ~0.1 over all bins
    clear = np.flatnonzero(noisy >= sigma * float(ndtri(1 - 0.1 / len(noisy))))
    if len(clear) == 0:
        raise DataError(
            f"column {name!r}: too few rows to estimate its range privately; give bounds={{{name!r}: (low, high)}}"
        )
    low = edges[max(clear[0] - 1, 0)]  # bin i holds values in (edges[i-1], edges[i]]
    high = edges[min(clear[-1], len(edges) - 1)]
    return (low, high) if low < high else (low, low + 1.0)


def _bins(col, enc: ContinuousEncoder, clipped: pd.Series, original: pd.Series, bins: int, sigma, rng) -> Bins:
    """The column's private bins; the missing key is the histogram's last count."""
    integer = col.kind is ColumnKind.INTEGER
    edges, zero = fine_partition(enc.low, enc.high, integer)
    draft = Bins(edges, zero, integer, np.zeros(0), np.zeros(0, np.int64), False)
    floats = column_floats(clipped, col.kind)
    present = floats[~np.isnan(floats)]
    counts = np.bincount(draft.fine_codes(present), minlength=draft.n_fine).astype(float)
    noisy = np.maximum(counts + rng.normal(0, sigma, len(counts)), 0.0)
    has_missing = False
    if _can_be_missing(original):
        missing = float(np.isnan(floats).sum()) + rng.normal(0, sigma)
        has_missing = missing >= 3 * sigma
    coarse = merge_bins(noisy[: len(edges) - 1], bins)
    if zero:  # the zero bin (last fine code) is a coarse bin of its own
        coarse = np.append(coarse, coarse.max() + 1)
    return Bins(edges, zero, integer, noisy, coarse, bool(has_missing))
