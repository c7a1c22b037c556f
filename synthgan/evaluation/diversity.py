"""Diversity: does the synthetic data cover the real data, or collapse to a few typical records?

Chain: rows or images -> an embedding (:func:`table_embedding`, or CNN features for images)
-> k-nearest-neighbour balls -> precision, recall, density, coverage (:func:`prdc`, Naeem et
al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"). Tables add what a
reader can name: real categories and numeric ranges the synthetic table never produces,
duplicate synthetic rows, and how synthetic rows spread over clusters of the real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from synthgan.errors import ConfigError, DataError
from synthgan.evaluation.features import MISSING, category_text, feature_spec, model_frame, preprocessor
from synthgan.evaluation.inputs import Tables
from synthgan.evaluation.marginals import as_numbers
from synthgan.schema import DISCRETE_KINDS, NUMERIC_KINDS, ColumnKind

PRECISION, RECALL, DENSITY, COVERAGE = "precision", "recall", "density", "coverage"
PRDC_KEYS = (PRECISION, RECALL, DENSITY, COVERAGE)
#: nearest neighbours defining each record's ball (the paper's default)
K = 5
#: rows of each set PRDC sees (a seeded subsample): distances are O(real x synthetic) in time
MAX_SAMPLES = 10_000
#: memory of one block of the distance matrix; blocks keep 10k x 10k to a few of them
BLOCK_BYTES = 64 * 2**20
#: a category holding less than this share of real rows is rare
RARE_SHARE = 0.01
#: numeric ranges are cut into this many quantile bins of the real values
RANGE_BINS = 10
#: a bin is covered when its synthetic share reaches this fraction of its real share
COVERED_FRACTION = 0.1
#: k-means clusters of the real embedding over which synthetic rows are counted
N_CLUSTERS = 10
#: verdict thresholds on PRDC coverage (identical distributions score about 1 - 2**-k = 0.97 at k=5)
GOOD_COVERAGE, FAIR_COVERAGE = 0.9, 0.7
#: verdict thresholds on the share of real categories the synthetic table holds
GOOD_CATEGORIES, FAIR_CATEGORIES = 0.95, 0.8
#: images: verdict thresholds on the lowest per-class spread ratio (synthetic / real)
GOOD_SPREAD, FAIR_SPREAD = 0.8, 0.5
TITLE = "Diversity (coverage and mode collapse)"


# -- PRDC -----------------------------------------------------------------------------------
def _blocks(n_rows: int, n_cols: int):
    step = max(1, BLOCK_BYTES // (8 * max(n_cols, 1)))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances of every row of ``a`` to every row of ``b`` (one block, via a matrix product).

    Squared distances within float64 round-off of the norms are set to exactly 0, so a
    record compared with its own duplicate is at distance 0, as ``<=`` below needs.
    """
    a_sq, b_sq = (a * a).sum(axis=1)[:, None], (b * b).sum(axis=1)[None, :]
    d2 = a_sq + b_sq - 2.0 * (a @ b.T)
    d2[d2 <= 1e-12 * (a_sq + b_sq)] = 0.0
    return np.sqrt(d2)


def kth_neighbour_distance(x: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest other row: the radius of its ball."""
    out = np.empty(len(x))
    for rows in _blocks(len(x), len(x)):
        out[rows] = np.partition(distances(x[rows], x), k, axis=1)[:, k]  # index 0 is the row itself
    return out


def _check_features(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        raise DataError(
            f"{name} features must be a 2-D numeric array (rows, dimensions); got shape {x.shape}, dtype {x.dtype}"
        )
    if not np.isfinite(x).all():
        raise DataError(f"{name} features hold NaN or infinite values")
    return x.astype(np.float64)


def subsample(x: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    if len(x) <= max_samples:
        return x
    return x[np.sort(rng.choice(len(x), size=max_samples, replace=False))]


def prdc(real_features, fake_features, k: int = K, max_samples: int = MAX_SAMPLES, seed: int = 0) -> dict:
    """Precision, recall, density and coverage of ``fake_features`` against ``real_features``.

    A ball around each real record reaches its k-th nearest real neighbour. Precision: share of
    fake records inside some real ball. Density: fake records' mean count of real balls holding
    them, over k (about 1 when the sets match; above 1 where fakes crowd dense regions).
    Coverage: share of real balls holding some fake record. Recall: share of real records inside
    some ball of the fake records (built the same way). A ball includes its boundary (the
    paper's code uses a strict ``<``; they differ only on ties, which discrete columns make
    common: a record repeated more than k times would otherwise have an empty ball).

    Memory is O(block x set size), never O(real x fake): distances come in blocks.
    """
    for name, value in (("k", k), ("max_samples", max_samples)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"prdc: {name}={value!r}: expected an integer >= 1")
    real, fake = _check_features("real", real_features), _check_features("synthetic", fake_features)
    if real.shape[1] != fake.shape[1]:
        raise DataError(f"real features have {real.shape[1]} dimensions but synthetic features {fake.shape[1]}")
    rng = np.random.default_rng(seed)
    real, fake = subsample(real, max_samples, rng), subsample(fake, max_samples, rng)
    if min(len(real), len(fake)) <= k:
        raise DataError(f"PRDC with k={k} needs more than {k} real and synthetic rows; got {len(real)} and {len(fake)}")
    real_radius, fake_radius = kth_neighbour_distance(real, k), kth_neighbour_distance(fake, k)
    fake_in_balls = np.zeros(len(fake))  # real balls holding each fake record
    recalled = np.zeros(len(real), dtype=bool)
    covered = np.zeros(len(real), dtype=bool)
    for rows in _blocks(len(real), len(fake)):
        d = distances(real[rows], fake)
        inside = d <= real_radius[rows, None]
        fake_in_balls += inside.sum(axis=0)
        covered[rows] = inside.any(axis=1)
        recalled[rows] = (d <= fake_radius[None, :]).any(axis=1)
    return {
        PRECISION: float((fake_in_balls > 0).mean()),
        RECALL: float(recalled.mean()),
        DENSITY: float(fake_in_balls.mean() / k),
        COVERAGE: float(covered.mean()),
    }


# -- table embedding ------------------------------------------------------------------------
def table_embedding(tables: Tables) -> tuple[np.ndarray, np.ndarray]:
    """Rows as vectors: one-hot categories and standardised numbers, fitted on the real table.

    The same preprocessing as the utility models (:func:`features.preprocessor`), over every
    column but identifiers, so one unit of distance means about one real standard deviation.
    """
    spec = feature_spec(tables.schema, None)
    if not spec.columns:
        raise DataError("the table has no columns besides identifiers to measure diversity on")
    encoder = preprocessor(spec).fit(model_frame(tables.real, spec))
    real = encoder.transform(model_frame(tables.real, spec))
    synth = encoder.transform(model_frame(tables.synthetic, spec))
    return np.asarray(real, dtype=np.float64), np.asarray(synth, dtype=np.float64)


# -- coverage of categories and ranges ------------------------------------------------------
@dataclass(frozen=True)
class CategoryCoverage:
    column: str
    real_categories: int
    covered: int
    rare: int  # real categories under RARE_SHARE of real rows
    rare_covered: int
    absent: tuple  # real categories with no synthetic row, most frequent first

    @property
    def share(self) -> float:
        return self.covered / self.real_categories

    @property
    def rare_share(self) -> float | None:
        return self.rare_covered / self.rare if self.rare else None


def category_coverage(column, real: pd.Series, synthetic: pd.Series) -> CategoryCoverage:
    """Which real categories (missing values aside) occur at least once in the synthetic column."""
    counts = real.astype(object).map(category_text).value_counts()
    counts = counts[counts.index != MISSING]
    present = set(synthetic.astype(object).map(category_text))
    hit = counts.index.isin(list(present))
    rare = (counts / len(real) < RARE_SHARE).to_numpy()
    return CategoryCoverage(
        str(column), len(counts), int(hit.sum()), int(rare.sum()), int((rare & hit).sum()), tuple(counts.index[~hit])
    )


@dataclass(frozen=True)
class RangeCoverage:
    column: str
    kind: str  # the column kind: datetimes are seconds since 1970
    real_min: float
    real_max: float
    synthetic_min: float | None
    synthetic_max: float | None
    range_share: float  # share of [real min, real max] inside [synthetic min, synthetic max]
    bins: int  # quantile bins of the real values
    bins_covered: int

    @property
    def bin_share(self) -> float:
        return self.bins_covered / self.bins if self.bins else 0.0


def range_coverage(column, real: pd.Series, synthetic: pd.Series, kind: str = "continuous") -> RangeCoverage | None:
    """Share of the real range, and of real quantile bins, that synthetic values reach (None: constant)."""
    r, s = as_numbers(real), as_numbers(synthetic)
    r, s = r[~np.isnan(r)], s[~np.isnan(s)]
    if len(r) == 0 or r.min() == r.max():
        return None
    low, high = r.min(), r.max()
    if len(s) == 0:
        return RangeCoverage(str(column), kind, float(low), float(high), None, None, 0.0, 0, 0)
    overlap = max(0.0, min(high, s.max()) - max(low, s.min()))
    uppers = np.unique(np.quantile(r, np.linspace(0, 1, RANGE_BINS + 1)[1:], method="lower"))
    real_bins = np.bincount(np.searchsorted(uppers, r, side="left"), minlength=len(uppers))
    inside = s[(s >= low) & (s <= high)]
    synth_bins = np.bincount(np.searchsorted(uppers, inside, side="left"), minlength=len(uppers))
    covered = synth_bins / len(s) >= COVERED_FRACTION * real_bins / len(r)
    return RangeCoverage(
        str(column), kind, float(low), float(high), float(s.min()), float(s.max()),
        float(overlap / (high - low)), len(uppers), int(covered.sum()),
    )


# -- mode collapse --------------------------------------------------------------------------
def duplicate_share(df: pd.DataFrame) -> float:
    """Share of rows identical (in every column) to an earlier row."""
    return float(pd.Series(pd.util.hash_pandas_object(df, index=False)).duplicated().mean())


@dataclass(frozen=True)
class Clusters:
    real: tuple  # share of real rows per cluster of the real embedding
    synthetic: tuple
    tvd: float
    empty: int  # clusters holding real rows but no synthetic row


def clusters(real: np.ndarray, synth: np.ndarray, seed: int, max_samples: int = MAX_SAMPLES) -> Clusters:
    """Synthetic rows counted over k-means clusters fitted on the real embedding."""
    fit_on = subsample(real, max_samples, np.random.default_rng(seed))
    n = min(N_CLUSTERS, len(np.unique(fit_on, axis=0)))
    model = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(fit_on)
    share_r = np.bincount(model.predict(real), minlength=n) / len(real)
    share_s = np.bincount(model.predict(synth), minlength=n) / len(synth)
    order = np.argsort(-share_r, kind="stable")
    share_r, share_s = share_r[order], share_s[order]
    return Clusters(
        tuple(share_r.tolist()), tuple(share_s.tolist()),
        float(0.5 * np.abs(share_r - share_s).sum()), int(((share_r > 0) & (share_s == 0)).sum()),
    )


# -- tables ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiversityResult:
    prdc: dict
    k: int
    rows_used: tuple  # (real, synthetic) rows PRDC saw
    dimensions: int  # of the embedding
    categories: tuple  # CategoryCoverage per discrete column
    ranges: tuple  # RangeCoverage per numeric or datetime column
    duplicates: dict  # {"real": share, "synthetic": share}
    clusters: Clusters
    notes: tuple = field(default_factory=tuple)

    @property
    def category_share(self):
        """Share of all real categories (every discrete column together) present in the synthetic table."""
        total = sum(c.real_categories for c in self.categories)
        return sum(c.covered for c in self.categories) / total if total else None

    @property
    def rare_share(self):
        total = sum(c.rare for c in self.categories)
        return sum(c.rare_covered for c in self.categories) / total if total else None


def diversity(tables: Tables, seed: int = 0, k: int = K, max_samples: int = MAX_SAMPLES) -> DiversityResult:
    """PRDC in the table embedding, category and range coverage, duplicates and cluster shares."""
    real_x, synth_x = table_embedding(tables)
    scores = prdc(real_x, synth_x, k=k, max_samples=max_samples, seed=seed)
    cats, ranges, notes = [], [], []
    for col in tables.schema.columns:
        real, synth = tables.real[col.name], tables.synthetic[col.name]
        if col.kind in DISCRETE_KINDS:
            cover = category_coverage(col.name, real, synth)
            if cover.real_categories:
                cats.append(cover)
        elif col.kind in NUMERIC_KINDS:
            cover = range_coverage(col.name, real, synth, col.kind.value)
            if cover is None:
                notes.append(f"Column {col.name!r} is constant in the real table: no range to cover.")
            else:
                ranges.append(cover)
    used = (min(len(real_x), max_samples), min(len(synth_x), max_samples))
    if used != (len(real_x), len(synth_x)):
        notes.append(
            f"PRDC ran on a seeded subsample of {used[0]} real and {used[1]} synthetic rows "
            f"(max_samples={max_samples})."
        )
    compared = [c.name for c in tables.schema.columns if c.kind is not ColumnKind.ID]
    return DiversityResult(
        prdc=scores,
        k=k,
        rows_used=used,
        dimensions=real_x.shape[1],
        categories=tuple(cats),
        ranges=tuple(ranges),
        duplicates={
            "real": duplicate_share(tables.real[compared]),
            "synthetic": duplicate_share(tables.synthetic[compared]),
        },
        clusters=clusters(real_x, synth_x, seed, max_samples),
        notes=tuple(notes),
    )


# -- images ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassSpread:
    label: str
    real_rows: int
    synthetic_rows: int
    real_spread: float | None  # mean distance of the class's real features to their centroid
    synthetic_spread: float | None
    prdc: dict | None  # within the class; None when either set has k rows or fewer

    @property
    def ratio(self):
        """Synthetic spread over real spread: below 1, the class's samples are more alike than real ones."""
        if self.real_spread in (None, 0.0) or self.synthetic_spread is None:
            return None
        return self.synthetic_spread / self.real_spread


@dataclass(frozen=True)
class ImageDiversityResult:
    prdc: dict
    k: int
    rows_used: tuple
    dimensions: int
    classes: tuple  # ClassSpread per class, in sorted label order
    notes: tuple = field(default_factory=tuple)

    @property
    def lowest_ratio(self):
        known = [c for c in self.classes if c.ratio is not None]
        return min(known, key=lambda c: c.ratio) if known else None


def spread(features: np.ndarray):
    """Mean Euclidean distance to the centroid: how far apart a set's records are."""
    if len(features) == 0:
        return None
    return float(np.linalg.norm(features - features.mean(axis=0), axis=1).mean())


def _labels(name: str, labels, n: int) -> np.ndarray:
    if labels is None:
        return np.full(n, "all", dtype=object)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n:
        raise DataError(f"{name} labels have {len(labels)} entries for {n} feature rows")
    return np.array([category_text(v) for v in labels.tolist()], dtype=object)


def image_diversity(
    real_features, real_labels, fake_features, fake_labels,
    k: int = K, max_samples: int = MAX_SAMPLES, seed: int = 0,
) -> ImageDiversityResult:
    """PRDC of image embeddings (N, D) overall and per class, and each class's spread, synthetic vs real.

    Labels may be None (one class). A class with k rows or fewer in either set gets no PRDC.
    """
    real, fake = _check_features("real", real_features), _check_features("synthetic", fake_features)
    real_y, fake_y = _labels("real", real_labels, len(real)), _labels("synthetic", fake_labels, len(fake))
    overall = prdc(real, fake, k=k, max_samples=max_samples, seed=seed)
    classes, notes = [], []
    for label in sorted(set(real_y.tolist()) | set(fake_y.tolist())):
        r, f = real[real_y == label], fake[fake_y == label]
        per_class = prdc(r, f, k=k, max_samples=max_samples, seed=seed) if min(len(r), len(f)) > k else None
        if per_class is None:
            notes.append(f"Class {label!r} has {len(r)} real and {len(f)} synthetic images: too few for PRDC (k={k}).")
        classes.append(ClassSpread(label, len(r), len(f), spread(r), spread(f), per_class))
    used = (min(len(real), max_samples), min(len(fake), max_samples))
    return ImageDiversityResult(overall, k, used, real.shape[1], tuple(classes), tuple(notes))
