"""What the report plots: every column's distribution and the numeric correlations, real vs synthetic.

Distributions use the real table's bins (or its most frequent categories), so the real and
synthetic bars of a column are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.evaluation.features import MISSING, category_text
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema

#: bins of a numeric column's histogram
MAX_BINS = 20
#: categories shown per discrete column; the rest are summed into "other"
TOP_CATEGORIES = 12
#: numeric columns in the correlation heatmaps (the first ones in table order)
MAX_HEATMAP_COLUMNS = 40
OTHER = "other"
NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)


@dataclass(frozen=True)
class Marginal:
    """Shares of a column's known values per bin or category, real against synthetic."""

    column: object
    kind: str
    labels: tuple
    real: tuple
    synthetic: tuple
    real_missing: float
    synthetic_missing: float
    outside: float = 0.0  # share of synthetic numbers outside the real range


@dataclass(frozen=True)
class Correlations:
    """Pearson correlations of the numeric columns (datetimes as numbers)."""

    columns: tuple
    real: tuple  # rows of the matrix; None where undefined (a constant column)
    synthetic: tuple
    mean_abs_gap: float | None
    left_out: int = 0  # numeric columns beyond MAX_HEATMAP_COLUMNS


def as_numbers(series: pd.Series) -> np.ndarray:
    """Floats (datetimes as seconds since 1970, UTC); missing values as NaN."""
    if pd.api.types.is_datetime64_any_dtype(series):
        epoch = pd.Timestamp(0, tz="UTC") if series.dt.tz is not None else pd.Timestamp(0)
        return ((series - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _edge_label(value: float, kind: ColumnKind) -> str:
    if kind is ColumnKind.DATETIME:
        return pd.Timestamp(value, unit="s").strftime("%Y-%m-%d")
    return f"{value:.3g}"


def _shares(counts: np.ndarray, total: int) -> tuple:
    return tuple(float(c) / total if total else 0.0 for c in counts)


def numeric_marginal(name, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> Marginal:
    r, s = as_numbers(real), as_numbers(synthetic)
    r_known, s_known = r[~np.isnan(r)], s[~np.isnan(s)]
    if len(r_known) == 0:
        return Marginal(name, kind.value, (), (), (), 1.0, float(np.isnan(s).mean()))
    n_bins = min(MAX_BINS, max(len(np.unique(r_known)), 1))
    edges = np.histogram_bin_edges(r_known, bins=n_bins)
    inside = (s_known >= edges[0]) & (s_known <= edges[-1])
    return Marginal(
        column=name,
        kind=kind.value,
        labels=tuple(_edge_label(e, kind) for e in edges[:-1]),
        real=_shares(np.histogram(r_known, edges)[0], len(r_known)),
        synthetic=_shares(np.histogram(s_known[inside], edges)[0], len(s_known)),
        real_missing=float(np.isnan(r).mean()),
        synthetic_missing=float(np.isnan(s).mean()),
        outside=float((~inside).mean()) if len(s_known) else 0.0,
    )


def discrete_marginal(name, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> Marginal:
    r = real.astype(object).map(category_text)
    s = synthetic.astype(object).map(category_text)
    r_known, s_known = r[r != MISSING], s[s != MISSING]
    counts_r = r_known.value_counts()
    counts_s = s_known.value_counts()
    top = list(counts_r.index[:TOP_CATEGORIES])
    labels = list(top)
    real_counts = [counts_r.get(c, 0) for c in top]
    synth_counts = [counts_s.get(c, 0) for c in top]
    rest_r, rest_s = len(r_known) - sum(real_counts), len(s_known) - sum(synth_counts)
    if rest_r or rest_s:
        labels.append(OTHER)
        real_counts.append(rest_r)
        synth_counts.append(rest_s)
    return Marginal(
        column=name,
        kind=kind.value,
        labels=tuple(labels),
        real=_shares(np.asarray(real_counts), len(r_known)),
        synthetic=_shares(np.asarray(synth_counts), len(s_known)),
        real_missing=float((r == MISSING).mean()),
        synthetic_missing=float((s == MISSING).mean()),
    )


def marginals(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> tuple:
    """One :class:`Marginal` per column except identifiers, in table order."""
    out = []
    for col in schema.columns:
        if col.kind in NUMERIC_KINDS:
            out.append(numeric_marginal(col.name, real[col.name], synthetic[col.name], col.kind))
        elif col.kind in DISCRETE_KINDS:
            out.append(discrete_marginal(col.name, real[col.name], synthetic[col.name], col.kind))
    return tuple(out)


def _matrix(df: pd.DataFrame, names: list) -> np.ndarray:
    values = np.column_stack([as_numbers(df[n]) for n in names])
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(values).corr(method="pearson").to_numpy()


def _rows(matrix: np.ndarray) -> tuple:
    return tuple(tuple(None if np.isnan(v) else float(v) for v in row) for row in matrix)


def correlations(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> Correlations | None:
    """Correlation matrices of the numeric columns; None when there are fewer than two."""
    names = [c.name for c in schema.columns if c.kind in NUMERIC_KINDS]
    if len(names) < 2:
        return None
    shown = names[:MAX_HEATMAP_COLUMNS]
    r, s = _matrix(real, shown), _matrix(synthetic, shown)
    off = ~np.eye(len(shown), dtype=bool)
    gaps = np.abs(r - s)[off]
    gaps = gaps[~np.isnan(gaps)]
    return Correlations(
        columns=tuple(shown),
        real=_rows(r),
        synthetic=_rows(s),
        mean_abs_gap=float(gaps.mean()) if len(gaps) else None,
        left_out=len(names) - len(shown),
    )
