"""Rare combinations of quasi-identifiers (k-anonymity against the training table).

A quasi-identifier (QI) is a column that is harmless alone but identifying in combination
(age, sex, zip code). A synthetic row is *rare* when its QI combination occurs fewer than
``k`` times among the training rows: it may single out a real person.

How QI values are matched (:class:`RareCombinations`):

- categories, booleans and integers: their exact values (normalised as for exact matches:
  text for categories, missing equals missing);
- continuous numbers and datetimes: the training-quantile bin they fall in (``bins`` bins),
  because exact real-valued matches almost never happen and every row would be rare.

Generalisation (:class:`Generalisation`, mode ``"generalise"``) rewrites a rare row's QIs one
level coarser instead of dropping it, and keeps it if the coarser combination occurs at
least ``k`` times in the training table generalised the same way (otherwise it is dropped):

- every numeric QI (integer, continuous, datetime) is replaced by a representative of its
  coarse training-quantile bin (``coarse_bins`` bins): the training median of that bin, a
  value of the column's own dtype, so the released table keeps its schema;
- text QIs (object, string or category dtype) whose value occurs fewer than ``k`` times in
  training are replaced by :data:`OTHER`; other category-like QIs (numbers, booleans) cannot
  take a marker without changing their dtype and are compared as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from synthgan.privacy.space import MISSING, as_float, category_texts
from synthgan.schema import ColumnKind, Schema, observed_decimals

#: the value a rare text category of a generalised row becomes
OTHER = "Other"
BINNED_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.DATETIME)
NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Interior edges of ``bins`` training-quantile bins (fewer when values repeat)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.empty(0)
    return np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin number of every value; -1 for missing."""
    codes = np.searchsorted(edges, values, side="right").astype(np.int64)
    codes[~np.isfinite(values)] = -1
    return codes


def _keys(columns: dict) -> np.ndarray:
    """One uint64 per row identifying its combination of the given coded columns."""
    frame = pd.DataFrame(columns)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def _tally(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct keys, how many rows have each)."""
    return np.unique(keys, return_counts=True)


#: the reference of a coder whose training counts are not known yet
_NO_COUNTS = (np.empty(0, np.uint64), np.empty(0, np.int64))


def _counts_of(keys: np.ndarray, reference: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """How many training rows share each key (0 for unseen keys)."""
    unique, counts = reference
    if len(unique) == 0:
        return np.zeros(len(keys), dtype=np.int64)
    at = np.searchsorted(unique, keys).clip(max=len(unique) - 1)
    return np.where(unique[at] == keys, counts[at], 0)


@dataclass(frozen=True)
class RareCombinations:
    """QI coding fitted on the training table, and the training count of every combination."""

    columns: tuple
    kinds: tuple  # ColumnKind per QI
    edges: tuple  # per QI: bin edges, or None when matched exactly
    decimals: tuple  # per QI matched exactly as a number: decimals compared; else None
    k: int
    reference: tuple  # (sorted unique training keys, their counts)

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema, columns: list, k: int, bins: int) -> "RareCombinations":
        kinds = tuple(schema[c].kind for c in columns)
        edges, decimals = [], []
        for name, kind in zip(columns, kinds):
            values = as_float(train[name], kind) if kind in NUMERIC_KINDS else None
            edges.append(quantile_edges(values, bins) if kind in BINNED_KINDS else None)
            decimals.append(observed_decimals(values) if kind is ColumnKind.INTEGER else None)
        coder = cls(tuple(columns), kinds, tuple(edges), tuple(decimals), k, _NO_COUNTS)
        return replace(coder, reference=_tally(coder.keys(train)))

    def keys(self, df: pd.DataFrame) -> np.ndarray:
        coded = {}
        for i, (name, kind) in enumerate(zip(self.columns, self.kinds)):
            if self.edges[i] is not None:
                coded[i] = bin_codes(as_float(df[name], kind), self.edges[i])
            elif self.decimals[i] is not None:
                coded[i] = np.round(as_float(df[name], kind), self.decimals[i]) + 0.0
            else:
                coded[i] = category_texts(df[name])
        return _keys(coded)

    def counts(self, df: pd.DataFrame) -> np.ndarray:
        """Training count of each row's QI combination."""
        return _counts_of(self.keys(df), self.reference)

    def rare(self, df: pd.DataFrame) -> np.ndarray:
        return self.counts(df) < self.k


def _is_text(series: pd.Series) -> bool:
    return (
        series.dtype == object or pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype)
    ) and not pd.api.types.is_bool_dtype(series)


@dataclass(frozen=True)
class Generalisation:
    """The coarser QI level of mode ``"generalise"`` (see the module docstring)."""

    columns: tuple
    kinds: tuple
    edges: tuple  # per QI: coarse bin edges for numbers, else None
    representatives: tuple  # per numeric QI: a pandas Series (training dtype), one value per bin
    frequent: tuple  # per text QI: frozenset of texts occurring >= k times, else None
    k: int
    reference: tuple

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema, columns: list, k: int, coarse_bins: int) -> "Generalisation":
        kinds = tuple(schema[c].kind for c in columns)
        edges, reps, frequent = [], [], []
        for name, kind in zip(columns, kinds):
            if kind in NUMERIC_KINDS:
                values = as_float(train[name], kind)
                e = quantile_edges(values, coarse_bins)
                edges.append(e)
                reps.append(_representatives(train[name], values, bin_codes(values, e), len(e) + 1))
                frequent.append(None)
            else:
                edges.append(None)
                reps.append(None)
                texts = pd.Series(category_texts(train[name]))
                counts = texts.value_counts()
                frequent.append(frozenset(counts.index[counts >= k]) if _is_text(train[name]) else None)
        coder = cls(tuple(columns), kinds, tuple(edges), tuple(reps), tuple(frequent), k, _NO_COUNTS)
        return replace(coder, reference=_tally(coder.keys(train)))

    def keys(self, df: pd.DataFrame) -> np.ndarray:
        coded = {}
        for i, (name, kind) in enumerate(zip(self.columns, self.kinds)):
            if self.edges[i] is not None:
                coded[i] = bin_codes(as_float(df[name], kind), self.edges[i])
            else:
                texts = category_texts(df[name])
                if self.frequent[i] is not None:
                    texts = np.where(pd.Series(texts).isin(self.frequent[i]).to_numpy(), texts, OTHER)
                coded[i] = texts
        return _keys(coded)

    def apply(self, rows: pd.DataFrame, rare: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """(rows with the rare ones generalised where that makes them common, mask of those rows)."""
        ok = np.zeros(len(rows), dtype=bool)
        candidates = np.flatnonzero(rare)
        if len(candidates):
            common = _counts_of(self.keys(rows.iloc[candidates]), self.reference) >= self.k
            ok[candidates[common]] = True
        if not ok.any():
            return rows, ok
        out = rows.reset_index(drop=True)  # positional labels; a copy
        at = np.flatnonzero(ok)
        for i, (name, kind) in enumerate(zip(self.columns, self.kinds)):
            old = out[name].iloc[at]
            if self.edges[i] is not None:
                codes = bin_codes(as_float(old, kind), self.edges[i])
                new = self.representatives[i].iloc[np.maximum(codes, 0)].set_axis(old.index)
                new = new.where(codes >= 0, old)  # missing stays missing
            elif self.frequent[i] is not None:
                texts = category_texts(old)
                keep = pd.Series(texts, index=old.index).isin(self.frequent[i] | {MISSING})
                if keep.all():
                    continue
                if isinstance(out[name].dtype, pd.CategoricalDtype) and OTHER not in out[name].cat.categories:
                    out[name] = out[name].cat.add_categories([OTHER])
                    old = out[name].iloc[at]
                new = old.where(keep, OTHER)
            else:
                continue
            out.loc[at, name] = new
        out.index = rows.index
        return out, ok


def _representatives(column: pd.Series, values: np.ndarray, codes: np.ndarray, n_bins: int) -> pd.Series:
    """The training median of each bin (lower median), as values of the column's own dtype.

    A bin without training values (below the smallest, when the lowest quantiles tie) takes
    the representative of the nearest bin that has some.
    """
    positions = np.full(n_bins, -1, dtype=np.int64)
    for b in range(n_bins):
        inside = np.flatnonzero(codes == b)
        if len(inside):
            positions[b] = inside[np.argsort(values[inside], kind="stable")][(len(inside) - 1) // 2]
    filled = np.flatnonzero(positions >= 0)
    if len(filled) == 0:  # an all-missing column: missing stands for every bin
        return column.iloc[:0].reset_index(drop=True).reindex(range(n_bins))
    for b in np.flatnonzero(positions < 0):
        positions[b] = positions[filled[np.argmin(np.abs(filled - b))]]
    return column.reset_index(drop=True).iloc[positions].reset_index(drop=True)
