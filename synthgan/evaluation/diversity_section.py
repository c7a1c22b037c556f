"""The diversity sections of the report (tables and images): PRDC, coverage and mode-collapse signals, in words, numbers and charts."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from synthgan.evaluation.diversity import (
    COVERAGE,
    COVERED_FRACTION,
    CategoryCoverage,
    Clusters,
    DENSITY,
    DiversityResult,
    FAIR_CATEGORIES,
    FAIR_COVERAGE,
    FAIR_SPREAD,
    GOOD_CATEGORIES,
    GOOD_COVERAGE,
    GOOD_SPREAD,
    ImageDiversityResult,
    N_CLUSTERS,
    PRDC_KEYS,
    PRECISION,
    RANGE_BINS,
    RARE_SHARE,
    RECALL,
    TITLE,
)
from synthgan.report.section import Figure, Headline, Section, Table
from synthgan.schema import ColumnKind


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
        # the same 0-1 axis as the coverage charts beside it; density alone may run past 1
        domain=(0.0, max([1.0, *(v for v in (scores[key] for key in PRDC_KEYS) if v is not None and np.isfinite(v))])),
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
