"""A cheap fidelity score for choosing the best epoch: sdmetrics' quality, recomputed in numpy.

sdmetrics' QualityReport takes seconds on a few thousand rows; the training loop scores the
generator every few epochs, so it needs the same measure in milliseconds. ``quick_quality``
follows the report's definitions (SDV, ``sdmetrics.reports.single_table``):

- **column shapes**: KSComplement (1 - the Kolmogorov-Smirnov statistic) for numbers and
  dates, TVComplement (1 - total variation distance) for categories; missing values count
  as a category, and a numeric column's score is multiplied by ``1 - |missing-rate error|``
  so an uncalibrated missing rate costs as much as a wrong shape;
- **column pair trends**: CorrelationSimilarity (``1 - |r_real - r_synthetic| / 2``, Pearson)
  for two numeric columns, ContingencySimilarity (1 - total variation distance of the joint
  table, numbers binned into 10 equal-width bins of the real range, values outside it in bins of
  their own) otherwise;
- as in the report, only pairs that are related in the real table count: numeric pairs with
  real ``|r| > 0.5``, other pairs with real Cramer's V above 0.3;
- the score is the mean of the two (shapes alone when no pair qualifies).

Agreement with sdmetrics is checked in ``tests/test_training_selection.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.schema import NUMERIC_KINDS, ColumnKind, Schema
from synthgan.tabular.transformer import column_floats

#: equal-width bins of a numeric column in pair trends (sdmetrics' default)
BINS = 10
#: pairs whose real |Pearson correlation| / Cramer's V is at most this are not scored
#: (sdmetrics' QualityReport defaults since 0.2x: DEFAULT_REAL_CORRELATION_THRESHOLD and
#: DEFAULT_REAL_ASSOCIATION_THRESHOLD)
CORRELATION_THRESHOLD, ASSOCIATION_THRESHOLD = 0.5, 0.3


@dataclass(frozen=True)
class QuickQuality:
    shapes: float
    pairs: float

    @property
    def score(self) -> float:
        return (self.shapes + self.pairs) / 2


@dataclass
class _Column:
    numeric: bool
    real: np.ndarray  # floats (numeric) or integer codes (categories, missing last)
    synthetic: np.ndarray
    real_codes: np.ndarray  # binned / coded, missing as its own code
    synthetic_codes: np.ndarray
    n_codes: int


def _prepare(real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> _Column:
    if kind in NUMERIC_KINDS:
        r, s = column_floats(real, kind), column_floats(synthetic, kind)
        observed = r[~np.isnan(r)]
        edges = np.histogram_bin_edges(observed if len(observed) else np.zeros(1), bins=BINS)

        def codes(x):  # np.digitize as sdmetrics: values outside the real range get bins of their own
            return np.where(np.isnan(x), BINS + 2, np.digitize(np.nan_to_num(x), edges)).astype(np.int64)

        return _Column(True, r, s, codes(r), codes(s), BINS + 3)
    text_r = real.astype(object).where(real.notna(), None).map(lambda v: None if v is None else str(v))
    text_s = synthetic.astype(object).where(synthetic.notna(), None).map(lambda v: None if v is None else str(v))
    cats = pd.Index(pd.unique(pd.concat([text_r, text_s]).dropna()))
    def codes(t):
        c = cats.get_indexer(t)
        return np.where(t.isna().to_numpy(), len(cats), c).astype(np.int64)
    rc, sc = codes(text_r), codes(text_s)
    return _Column(False, rc, sc, rc, sc, len(cats) + 1)


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of the observed values."""
    a, b = np.sort(a[~np.isnan(a)]), np.sort(b[~np.isnan(b)])
    if len(a) == 0 or len(b) == 0:
        return 0.0 if len(a) == len(b) else 1.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def _tv(codes_a: np.ndarray, codes_b: np.ndarray, n: int) -> float:
    p = np.bincount(codes_a, minlength=n) / max(len(codes_a), 1)
    q = np.bincount(codes_b, minlength=n) / max(len(codes_b), 1)
    return float(0.5 * np.abs(p - q).sum())


def _cramers_v(codes_a: np.ndarray, codes_b: np.ndarray, n_b: int) -> float:
    """Cramer's V of two coded columns (no continuity correction, as scipy's ``association``)."""
    table = np.bincount(codes_a * n_b + codes_b, minlength=(codes_a.max() + 1) * n_b).reshape(-1, n_b)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 3:
        return 0.0
    x, y = x[both], y[both]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def quick_quality(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> QuickQuality:
    """sdmetrics-style quality of ``synthetic`` against ``real`` for the schema's modelled columns.

    Both frames need the schema's columns (identifier columns are ignored). Returns shapes,
    pairs and their mean, each in [0, 1] (1: identical distributions)."""
    cols = [c for c in schema.columns if c.kind is not ColumnKind.ID]
    real, synthetic = schema.canonical(real), schema.canonical(synthetic)  # see synthgan.forms
    prepared = [_prepare(real[c.name], synthetic[c.name], c.kind) for c in cols]
    shapes = []
    for col in prepared:
        if col.numeric:
            miss_r, miss_s = np.isnan(col.real).mean(), np.isnan(col.synthetic).mean()
            shapes.append((1 - _ks(col.real, col.synthetic)) * (1 - abs(miss_r - miss_s)))
        else:
            shapes.append(1 - _tv(col.real_codes, col.synthetic_codes, col.n_codes))
    pairs = []
    for i in range(len(prepared)):
        for j in range(i + 1, len(prepared)):
            a, b = prepared[i], prepared[j]
            if a.numeric and b.numeric:
                real_r = _correlation(a.real, b.real)
                if abs(real_r) > CORRELATION_THRESHOLD:
                    pairs.append(1 - abs(real_r - _correlation(a.synthetic, b.synthetic)) / 2)
            elif _cramers_v(a.real_codes, b.real_codes, b.n_codes) > ASSOCIATION_THRESHOLD:
                n = a.n_codes * b.n_codes
                pairs.append(1 - _tv(a.real_codes * b.n_codes + b.real_codes, a.synthetic_codes * b.n_codes + b.synthetic_codes, n))
    shape = float(np.mean(shapes)) if shapes else 1.0
    pair = float(np.mean(pairs)) if pairs else shape
    return QuickQuality(shape, pair)
