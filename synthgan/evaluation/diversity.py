"""Diversity: does the synthetic data cover the real data, or collapse to a few typical records?

Chain: rows or images -> an embedding (:func:`table_embedding`, or CNN features for images)
-> k-nearest-neighbour balls -> precision, recall, density, coverage (:func:`prdc`, Naeem et
al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"). Tables add what a
reader can name: real categories and numeric ranges the synthetic table never produces,
duplicate synthetic rows, and how synthetic rows spread over clusters of the real data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from synthgan.errors import ConfigError, DataError
from synthgan.evaluation.features import MISSING, category_text, feature_spec, model_frame, preprocessor
from synthgan.evaluation.inputs import Tables
from synthgan.evaluation.marginals import as_numbers
from synthgan.report.section import Figure, Headline, Section, Table
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


# -- report sections ------------------------------------------------------------------------
def _grade(value, good: float, fair: float) -> str:
    return "good" if value >= good else "fair" if value >= fair else "poor"


def _worse(*verdicts) -> str:
    return max(verdicts, key=("good", "fair", "poor").index)


def _prdc_headlines(scores: dict, k: int) -> list:
    return [
        Headline(
            "coverage",
            scores[COVERAGE],
            f"Share of real records with a synthetic record closer than their {k}th nearest real neighbour; "
            "1 = no part of the real data is left uncovered.",
        ),
        Headline(
            "recall",
            scores[RECALL],
            "Share of real records that fall near some synthetic record; low recall means missing modes.",
        ),
        Headline(
            "precision",
            scores[PRECISION],
            "Share of synthetic records that fall near some real record; low precision means implausible records.",
        ),
        Headline(
            "density",
            scores[DENSITY],
            "About 1 when synthetic records are spread like real ones; above 1 when they crowd common regions.",
        ),
    ]


def _prdc_figure(scores: dict, k: int) -> Figure:
    return Figure(
        "bars",
        f"Precision, recall, density and coverage (k={k})",
        PRDC_KEYS,
        {"synthetic vs real": tuple(scores[key] for key in PRDC_KEYS)},
        caption="Two samples of one distribution score about 1 on each; density may exceed 1.",
        group="Nearest-neighbour diversity",
    )


def _coverage_figures(result: DiversityResult) -> list:
    figures = []
    if result.categories:
        cats = result.categories
        figures.append(
            Figure(
                "bars",
                "Share of real categories present in the synthetic table",
                tuple(c.column for c in cats),
                {
                    "all categories": tuple(c.share for c in cats),
                    f"rare (< {RARE_SHARE:.0%} of rows)": tuple(c.rare_share for c in cats),
                },
                domain=(0.0, 1.0),
                group="Coverage",
            )
        )
    if result.ranges:
        ranges = result.ranges
        figures.append(
            Figure(
                "bars",
                "Share of each numeric column's real range reached",
                tuple(r.column for r in ranges),
                {
                    "real min-max range": tuple(r.range_share for r in ranges),
                    f"real quantile bins ({RANGE_BINS})": tuple(r.bin_share for r in ranges),
                },
                domain=(0.0, 1.0),
                caption=f"A bin counts when it holds at least {COVERED_FRACTION:.0%} of its real share of "
                "synthetic rows.",
                group="Coverage",
            )
        )
    return figures


def _cluster_figure(cl: Clusters) -> Figure:
    return Figure(
        "columns",
        "Rows per cluster of the real data",
        tuple(str(i + 1) for i in range(len(cl.real))),
        {"real": cl.real, "synthetic": cl.synthetic},
        caption=f"k-means on the real rows, largest cluster first; TVD {cl.tvd:.3f}, "
        f"{cl.empty} cluster(s) without synthetic rows.",
        group="Mode collapse",
    )


def _as_shown(value, kind: str):
    """Datetime bounds (seconds) as dates; numbers as they are."""
    if value is not None and kind == ColumnKind.DATETIME.value:
        return pd.Timestamp(value, unit="s").strftime("%Y-%m-%d")
    return value


def _absent_note(c: CategoryCoverage) -> str:
    names = ", ".join(map(repr, c.absent[:5])) + (", ..." if len(c.absent) > 5 else "")
    return f"{c.column!r} lacks {len(c.absent)} real categor{'y' if len(c.absent) == 1 else 'ies'} ({names})."


def _diversity_tables(result: DiversityResult) -> list:
    return [
        Table(
            "Category coverage",
            ("column", "real categories", "in synthetic", "share", "rare", "rare in synthetic", "absent (first 5)"),
            tuple(
                (c.column, c.real_categories, c.covered, c.share, c.rare, c.rare_covered, ", ".join(c.absent[:5]))
                for c in result.categories
            ),
            collapsed=True,
        ),
        Table(
            "Range coverage",
            ("column", "real min", "real max", "synthetic min", "synthetic max", "share of range", "bins covered"),
            tuple(
                (
                    r.column,
                    *(_as_shown(v, r.kind) for v in (r.real_min, r.real_max, r.synthetic_min, r.synthetic_max)),
                    r.range_share,
                    f"{r.bins_covered} of {r.bins}",
                )
                for r in result.ranges
            ),
            collapsed=True,
        ),
    ]


def diversity_section(result: DiversityResult) -> Section:
    """The ``diversity`` report section for tables."""
    scores, cl = result.prdc, result.clusters
    verdict = _grade(scores[COVERAGE], GOOD_COVERAGE, FAIR_COVERAGE)
    if result.category_share is not None:
        verdict = _worse(verdict, _grade(result.category_share, GOOD_CATEGORIES, FAIR_CATEGORIES))
    categories = f"{result.category_share:.1%} of real categories occur; " if result.category_share is not None else ""
    summary = (
        f"Synthetic rows cover {scores[COVERAGE]:.1%} of real records' neighbourhoods (recall {scores[RECALL]:.3f}, "
        f"precision {scores[PRECISION]:.3f}); {categories}{result.duplicates['synthetic']:.1%} of synthetic rows "
        f"are duplicates (real: {result.duplicates['real']:.1%}); {cl.empty} of {len(cl.real)} real clusters get "
        "no synthetic row."
    )
    headline = [
        *_prdc_headlines(scores, result.k),
        Headline(
            "category coverage",
            result.category_share,
            "Share of the real categories (all discrete columns) that occur in the synthetic table.",
        ),
        Headline(
            "rare category coverage",
            result.rare_share,
            f"The same for categories holding under {RARE_SHARE:.0%} of real rows, the first a generator drops.",
        ),
        Headline(
            "duplicate synthetic rows",
            result.duplicates["synthetic"],
            "Share of synthetic rows identical to another synthetic row; far above the real share signals collapse.",
        ),
        Headline(
            "empty clusters",
            cl.empty,
            f"Of {len(cl.real)} k-means clusters of the real rows, how many get no synthetic row.",
        ),
    ]
    notes = [
        f"Verdict from the weaker of PRDC coverage (good from {GOOD_COVERAGE}, fair from {FAIR_COVERAGE}) and "
        f"category coverage (good from {GOOD_CATEGORIES}, fair from {FAIR_CATEGORIES}); rules of thumb.",
        f"PRDC (Naeem et al. 2020) with k={result.k} in a {result.dimensions}-dimensional embedding: one-hot "
        "categories and standardised numbers, fitted on the real rows.",
        *(_absent_note(c) for c in result.categories if c.absent),
        *result.notes,
    ]
    return Section(
        key="diversity",
        title=TITLE,
        summary=summary,
        verdict=verdict,
        headline=headline,
        notes=notes,
        tables=_diversity_tables(result),
        figures=[_prdc_figure(scores, result.k), *_coverage_figures(result), _cluster_figure(cl)],
        details={
            **asdict(result),
            "category_coverage": result.category_share,
            "rare_category_coverage": result.rare_share,
            "thresholds": {
                "rare_share": RARE_SHARE,
                "range_bins": RANGE_BINS,
                "covered_fraction": COVERED_FRACTION,
                "clusters": N_CLUSTERS,
            },
        },
    )


def _class_figures(result: ImageDiversityResult) -> list:
    labels = tuple(c.label for c in result.classes)
    return [
        Figure(
            "bars",
            "Spread per class: mean distance to the class centre",
            labels,
            {
                "real": tuple(c.real_spread for c in result.classes),
                "synthetic": tuple(c.synthetic_spread for c in result.classes),
            },
            caption="Synthetic spread well below real spread: the class's samples are near-copies of each other.",
            group="Per class",
        ),
        Figure(
            "bars",
            "Coverage per class",
            labels,
            {COVERAGE: tuple(c.prdc[COVERAGE] if c.prdc else None for c in result.classes)},
            domain=(0.0, 1.0),
            group="Per class",
        ),
    ]


def image_diversity_section(result: ImageDiversityResult) -> Section:
    """The ``diversity`` report section for images (features from the lead's CNN embedding)."""
    scores, lowest = result.prdc, result.lowest_ratio
    verdict = _grade(scores[COVERAGE], GOOD_COVERAGE, FAIR_COVERAGE)
    if lowest is not None:
        verdict = _worse(verdict, _grade(lowest.ratio, GOOD_SPREAD, FAIR_SPREAD))
    summary = (
        f"Synthetic images cover {scores[COVERAGE]:.1%} of real images' neighbourhoods (recall {scores[RECALL]:.3f}, "
        f"precision {scores[PRECISION]:.3f})"
    )
    if lowest is not None:
        summary += (
            f"; the least varied class, {lowest.label!r}, spreads {lowest.ratio:.2f} times as widely as its real images"
        )
    rows = tuple(
        (
            c.label,
            c.real_rows,
            c.synthetic_rows,
            c.real_spread,
            c.synthetic_spread,
            c.ratio,
            *(c.prdc[key] if c.prdc else None for key in PRDC_KEYS),
        )
        for c in result.classes
    )
    return Section(
        key="diversity",
        title=TITLE,
        summary=summary + ".",
        verdict=verdict,
        headline=[
            *_prdc_headlines(scores, result.k),
            Headline(
                "lowest spread ratio",
                None if lowest is None else lowest.ratio,
                "Synthetic over real mean distance to the class centre, least varied class"
                + (f" ({lowest.label!r})" if lowest else "")
                + "; 1 = as varied as the real images.",
            ),
        ],
        notes=[
            f"Verdict from the weaker of PRDC coverage (good from {GOOD_COVERAGE}, fair from {FAIR_COVERAGE}) and the "
            f"lowest spread ratio (good from {GOOD_SPREAD}, fair from {FAIR_SPREAD}); rules of thumb.",
            f"PRDC (Naeem et al. 2020) with k={result.k} on {result.dimensions}-dimensional image features.",
            *result.notes,
        ],
        tables=[
            Table(
                "Per class",
                ("class", "real images", "synthetic images", "real spread", "synthetic spread", "ratio", *PRDC_KEYS),
                rows,
            )
        ],
        figures=[_prdc_figure(scores, result.k), *_class_figures(result)],
        details={**asdict(result), "classes": [{**asdict(c), "ratio": c.ratio} for c in result.classes]},
    )
