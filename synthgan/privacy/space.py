"""A distance between table rows of mixed types, and nearest neighbours that scale.

Rows become points in one numeric space (:class:`MixedSpace`):

- numbers and datetimes (datetimes as seconds) are centred on the training median and divided
  by a robust scale (IQR / 1.349, the standard deviation of a normal with that IQR; the
  standard deviation when the IQR is 0; 1 when both are 0). A missing value becomes 0 (the
  median) plus a missing-indicator coordinate of 1, so "missing vs present" costs about one
  typical spread;
- categories (booleans included, missing as its own category) are one-hot coordinates of
  value ``1/sqrt(2)``, so two different categories are at distance 1, like one robust
  spread of a number. A category unseen in training is all zeros (distance ``sqrt(1/2)`` to
  every category). At most :data:`MAX_CATEGORIES` categories per column get their own
  coordinate; rarer ones share one, which can only make rows look closer (the safe side);
- identifier columns are left out: they are unique per row by design.

Every point is divided by ``sqrt(number of columns)``: the Euclidean distance between two
points is the root mean square of the per-column differences, comparable across tables.

:func:`nearest` finds the ``k`` nearest reference points of every query point in blocks of at
most ``max_block`` distances (torch, CPU or GPU), so memory is bounded whatever the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from synthgan.schema import category_text as schema_category_text
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema

#: categories per column with their own coordinate; rarer ones share one
MAX_CATEGORIES = 100
#: pairwise distances computed at once by :func:`nearest` (float32: 8 MiB; blocks that fit a
#: CPU's caches ran fastest, about 2x faster than 64 MiB ones)
MAX_BLOCK = 2**21
#: reference rows per block (the rest of the block is query rows)
REF_CHUNK = 4096
#: text standing for a missing category (cannot collide with a user value: starts with NUL)
MISSING = "\x00<missing>"
#: a rare category's shared coordinate
RARE = "\x00<rare>"
NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)


def category_text(value) -> str:
    """A category as text, so 1, 1.0 and "1" match (as read from CSV or Parquet); NaN -> MISSING."""
    return schema_category_text(value, MISSING)


def category_texts(series: pd.Series) -> np.ndarray:
    """:func:`category_text` of every value, computed once per distinct value (fast on 1M rows)."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    texts = np.array([category_text(u) for u in uniques] + [MISSING], dtype=object)
    return texts[codes]  # code -1 (missing) picks the last entry


def as_float(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Numbers as float64; datetimes as seconds since the epoch (UTC); missing as NaN."""
    if kind is ColumnKind.DATETIME:
        if not pd.api.types.is_datetime64_any_dtype(series):
            series = pd.to_datetime(series, errors="coerce")
        if series.dt.tz is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = series.astype("datetime64[ns]")
        out = ns.to_numpy().astype("int64").astype("float64") / 1e9
        out[ns.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def robust_scale(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return 1.0
    q1, q3 = np.quantile(finite, [0.25, 0.75])
    scale = (q3 - q1) / 1.349
    if scale <= 0:
        scale = float(np.std(finite))
    return float(scale) if scale > 0 else 1.0


@dataclass(frozen=True)
class MixedSpace:
    """The fitted embedding of rows into the space described in the module docstring."""

    numeric: tuple  # column names, numbers and datetimes
    kinds: tuple  # ColumnKind of each numeric column
    centers: tuple
    scales: tuple
    discrete: tuple  # column names, categories and booleans
    categories: tuple  # per discrete column: its categories with a coordinate (texts)

    @classmethod
    def fit(cls, df: pd.DataFrame, schema: Schema) -> "MixedSpace":
        numeric = [c for c in schema.columns if c.kind in NUMERIC_KINDS]
        discrete = [c for c in schema.columns if c.kind in DISCRETE_KINDS]
        centers, scales = [], []
        for col in numeric:
            values = as_float(df[col.name], col.kind)
            finite = values[np.isfinite(values)]
            centers.append(float(np.median(finite)) if len(finite) else 0.0)
            scales.append(robust_scale(values))
        categories = []
        for col in discrete:
            counts = pd.Series(category_texts(df[col.name])).value_counts(sort=True)
            kept = list(counts.index[:MAX_CATEGORIES])
            categories.append(tuple(kept + ([RARE] if len(counts) > MAX_CATEGORIES else [])))
        return cls(
            numeric=tuple(c.name for c in numeric),
            kinds=tuple(c.kind for c in numeric),
            centers=tuple(centers),
            scales=tuple(scales),
            discrete=tuple(c.name for c in discrete),
            categories=tuple(categories),
        )

    @property
    def columns(self) -> list:
        return [*self.numeric, *self.discrete]

    @property
    def width(self) -> int:
        return 2 * len(self.numeric) + sum(len(c) for c in self.categories)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Rows -> float32 points of shape (len(df), width)."""
        n_cols = max(len(self.columns), 1)
        out = np.zeros((len(df), self.width), dtype=np.float32)
        for i, name in enumerate(self.numeric):
            values = (as_float(df[name], self.kinds[i]) - self.centers[i]) / self.scales[i]
            missing = ~np.isfinite(values)
            out[:, 2 * i] = np.where(missing, 0.0, values)
            out[:, 2 * i + 1] = missing
        start = 2 * len(self.numeric)
        for name, cats in zip(self.discrete, self.categories):
            texts = category_texts(df[name])
            codes = pd.Categorical(texts, categories=list(cats)).codes.astype(np.int64)
            if cats and cats[-1] == RARE:
                codes[codes < 0] = len(cats) - 1  # beyond MAX_CATEGORIES: the shared coordinate
            rows = np.flatnonzero(codes >= 0)
            out[rows, start + codes[rows]] = np.sqrt(0.5)
            start += len(cats)
        out /= np.sqrt(n_cols)
        return out


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def nearest(
    queries: np.ndarray,
    reference: np.ndarray,
    k: int = 1,
    max_block: int = MAX_BLOCK,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (float64) and indices of the ``k`` nearest reference points of every query, nearest first.

    Candidates come from ``|r|^2 - 2 q.r`` in float32 blocks of at most ``max_block`` entries
    (matrix products: fast); the chosen neighbours' distances are then recomputed exactly in
    float64 from the differences, so an exact copy is at distance 0, not at rounding noise.
    """
    n_ref = len(reference)
    assert n_ref >= k >= 1, (n_ref, k)
    dev = _device(device)
    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32)).to(dev)
    ref_chunk = min(n_ref, max(k, min(REF_CHUNK, max_block)))
    query_chunk = max(1, max_block // ref_chunk)
    dist = np.empty((len(queries), k), dtype=np.float64)
    index = np.empty((len(queries), k), dtype=np.int64)
    with torch.inference_mode():
        ref_norms = [(ref[s : s + ref_chunk] ** 2).sum(1) for s in range(0, n_ref, ref_chunk)]
        for qs in range(0, len(queries), query_chunk):
            q = torch.from_numpy(np.ascontiguousarray(queries[qs : qs + query_chunk], dtype=np.float32)).to(dev)
            best_score, best_index = None, None
            for part, rs in enumerate(range(0, n_ref, ref_chunk)):
                r = ref[rs : rs + ref_chunk]
                score = torch.addmm(ref_norms[part], q, r.T, beta=1.0, alpha=-2.0)
                s, i = _smallest(score, min(k, len(r)))
                i = i + rs
                if best_score is not None:
                    s, order = _smallest(torch.cat([best_score, s], 1), k)
                    i = torch.cat([best_index, i], 1).gather(1, order)
                best_score, best_index = s, i
            d, i = _exact(q, ref, best_index)
            dist[qs : qs + len(q)] = d
            index[qs : qs + len(q)] = i
    return dist, index


def _smallest(score: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` smallest entries of every row and their columns (``min`` when k is 1: faster)."""
    if k == 1:
        return score.min(dim=1, keepdim=True)
    return score.topk(k, dim=1, largest=False)


def _exact(q: torch.Tensor, ref: torch.Tensor, index: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Exact float64 distances to the candidate neighbours, re-sorted nearest first."""
    diff = ref[index].double() - q[:, None, :].double()
    d = diff.pow(2).sum(-1).sqrt()
    d, order = d.sort(dim=1, stable=True)
    return d.cpu().numpy(), index.gather(1, order).cpu().numpy()
