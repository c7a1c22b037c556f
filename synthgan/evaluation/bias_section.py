"""The bias section of the report: what :func:`synthgan.evaluation.bias.bias` found, in words, numbers and charts."""

from __future__ import annotations

from dataclasses import asdict

from synthgan.evaluation.bias import (
    AMPLIFIED,
    BiasResult,
    FAIR_TVD,
    FAMILY,
    FIGURE_GROUPS,
    GAP_TOLERANCE,
    GOOD_TVD,
    MAX_BINS,
    MIN_CLASS_ROWS,
    MIN_GROUP_ROWS,
    SHRINK_RATIO,
    SHRUNK,
    TRAINED_REAL,
    TRAINED_SYNTHETIC,
    VANISHED,
    WORSE,
)
from synthgan.report.section import Figure, Headline, Section, Table


def _verdict(result: BiasResult) -> str:
    """Poor when a group vanished or a gap widened; fair when a group shrank; TVD grades the rest."""
    kinds = {f.kind for f in result.flags}
    tvd = result.max_tvd or 0.0
    if kinds & {VANISHED, AMPLIFIED, WORSE} or tvd > FAIR_TVD:
        return "poor"
    if SHRUNK in kinds or tvd > GOOD_TVD:
        return "fair"
    return "good"


def _worst(gaps) -> tuple:
    """(largest change, its facet) over facets with a change; (None, None) when none."""
    known = [g for g in gaps if g.change is not None]
    if not known:
        return None, None
    gap = max(known, key=lambda g: g.change)
    return gap.change, gap.facet


def _share_figures(result: BiasResult) -> list:
    reps = result.representation
    figures = [
        Figure(
            "bars",
            "Group share distance (TVD) per column and intersection",
            tuple(r.facet for r in reps),
            {"TVD": tuple(r.tvd for r in reps)},
            domain=(0.0, 1.0),
            caption="0 = every group has the same share of synthetic rows as of real rows.",
            group="Representation",
        )
    ]
    for rep in (r for r in reps if r.facet in result.sensitive):
        shown = rep.groups[:FIGURE_GROUPS]
        hidden = len(rep.groups) - len(shown)
        figures.append(
            Figure(
                "columns",
                f"Group shares: {rep.facet}",
                tuple(g.group for g in shown),
                {"real": tuple(g.real_share for g in shown), "synthetic": tuple(g.synthetic_share for g in shown)},
                caption=f"{hidden} smaller groups not shown." if hidden else "",
                group="Representation",
            )
        )
    return figures


def _rate_figures(result: BiasResult) -> list:
    figures = []
    for gap in (g for g in result.outcomes if g.facet in result.sensitive):
        shown = gap.rates[:FIGURE_GROUPS]
        figures.append(
            Figure(
                "bars",
                f"Rate of {result.target} = {result.positive}: {gap.facet}",
                tuple(x.group for x in shown),
                {"real": tuple(x.real_rate for x in shown), "synthetic": tuple(x.synthetic_rate for x in shown)},
                domain=(0.0, 1.0),
                caption="n/a: too few rows to estimate.",
                group="Outcome rate per group, real vs synthetic",
            )
        )
    for gap in (g for g in result.downstream if g.facet in result.sensitive):
        shown = gap.groups[:FIGURE_GROUPS]
        metrics = ("TPR", "FPR")
        figures.append(
            Figure(
                "bars",
                f"Error rates on the real holdout: {gap.facet}",
                tuple(f"{g.group} \u00b7 {m}" for g in shown for m in metrics),
                {
                    arm: tuple(g.scores[arm][m] for g in shown for m in metrics)
                    for arm in (TRAINED_REAL, TRAINED_SYNTHETIC)
                },
                domain=(0.0, 1.0),
                caption="Equal TPR and FPR across groups is equalised odds; n/a: too few rows to estimate.",
                group="Downstream fairness",
            )
        )
    return figures


def _tables(result: BiasResult) -> list:
    tables = [
        Table(
            "Group shares",
            ("columns", "group", "real rows", "synthetic rows", "real share", "synthetic share", "status"),
            tuple(
                (r.facet, g.group, g.real_rows, g.synthetic_rows, g.real_share, g.synthetic_share, g.status)
                for r in result.representation
                for g in r.groups
            ),
            collapsed=True,
        )
    ]
    if result.outcomes:
        tables.append(
            Table(
                f"Demographic parity of {result.target} = {result.positive}",
                ("columns", "real difference", "synthetic difference", "change", "real ratio", "synthetic ratio"),
                tuple(
                    (g.facet, g.real.difference, g.synthetic.difference, g.change, g.real.ratio, g.synthetic.ratio)
                    for g in result.outcomes
                ),
                note="difference: highest minus lowest group rate; ratio: lowest over highest (1 = parity). "
                f"Over groups with at least {MIN_GROUP_ROWS} rows in both tables.",
            )
        )
        tables.append(
            Table(
                "Outcome rate per group",
                ("columns", "group", "real rows", "real rate", "synthetic rows", "synthetic rate"),
                tuple(
                    (g.facet, x.group, x.real_rows, x.real_rate, x.synthetic_rows, x.synthetic_rate)
                    for g in result.outcomes
                    for x in g.rates
                ),
                collapsed=True,
            )
        )
    if result.downstream:
        tables.append(
            Table(
                "Equalised-odds difference on the real holdout",
                ("columns", TRAINED_REAL, TRAINED_SYNTHETIC, "change"),
                tuple((g.facet, g.real.difference, g.synthetic.difference, g.change) for g in result.downstream),
                note=f"A {FAMILY} model; the larger of the TPR gap and the FPR gap between groups; 0 = equalised odds.",
            )
        )
        tables.append(
            Table(
                "Error rates per group on the real holdout",
                ("columns", "group", "rows", "positives", "model", "accuracy", "TPR", "FPR"),
                tuple(
                    (gap.facet, g.group, g.rows, g.positives, arm, s["accuracy"], s["TPR"], s["FPR"])
                    for gap in result.downstream
                    for g in gap.groups
                    for arm, s in g.scores.items()
                ),
                collapsed=True,
            )
        )
    return tables


def _summary(result: BiasResult) -> str:
    pairs = len(result.representation) - len(result.sensitive)
    lost = len(result.flagged(VANISHED)) + len(result.flagged(SHRUNK))
    parts = [
        f"Over {len(result.sensitive)} sensitive column(s) and {pairs} intersection(s), synthetic group shares "
        f"differ from real ones by a TVD of at most {result.max_tvd:.3f}; {lost} group(s) vanished or shrank."
    ]
    change, facet = _worst(result.outcomes)
    if change is not None:
        parts.append(f"The gap in outcome rates between groups changes by at most {change:+.3f} (across {facet}).")
    change, facet = _worst(result.downstream)
    if change is not None:
        parts.append(
            f"Trained on synthetic rows, a model's equalised-odds difference changes by at most {change:+.3f} "
            f"(across {facet})."
        )
    return " ".join(parts)


def _headline(result: BiasResult) -> list:
    parity, parity_at = _worst(result.outcomes)
    odds, odds_at = _worst(result.downstream)
    return [
        Headline(
            "group share distance (TVD)",
            result.max_tvd,
            "Total variation distance between real and synthetic group shares, worst sensitive column; "
            "0 = every group keeps its share.",
        ),
        Headline(
            "groups vanished or shrunk",
            len(result.flagged(VANISHED)) + len(result.flagged(SHRUNK)),
            f"Groups with no synthetic rows, or under {SHRINK_RATIO:.0%} of their real share (named in the notes).",
        ),
        Headline(
            "parity gap change",
            parity,
            "How much more the outcome rate differs between groups in synthetic than in real data (demographic "
            f"parity difference{f', worst: {parity_at}' if parity_at else ''}); 0 or below is no amplification.",
        ),
        Headline(
            "equalised-odds change",
            odds,
            "How much less equally a model trained on synthetic data treats groups than one trained on real data, "
            f"on the real holdout{f' (worst: {odds_at})' if odds_at else ''}; 0 or below is no harm.",
        ),
    ]


def bias_section(result: BiasResult) -> Section:
    """The ``bias`` report section: flags by name first in the notes, then how to read the numbers."""
    title = "Bias (sensitive groups)"
    if not result.representation:
        summary = " ".join(result.notes) or "No sensitive column has groups."
        return Section("bias", title, summary, verdict="skipped", notes=list(result.notes))
    rule = (
        f"Verdict: poor when a group vanished, a gap widened or the TVD exceeds {FAIR_TVD}; fair when a group "
        f"shrank or the TVD exceeds {GOOD_TVD}; good otherwise. A gap counts as widened when it grows by more "
        f"than {GAP_TOLERANCE} plus twice its sampling error."
    )
    positive = (
        f"Outcome: the positive class is {result.positive!r} (the minority class); with more than two classes "
        "it is compared against all the others together."
    )
    return Section(
        key="bias",
        title=title,
        summary=_summary(result),
        verdict=_verdict(result),
        headline=_headline(result),
        notes=[*(f.message for f in result.flags), rule, *([positive] if result.outcomes else []), *result.notes],
        tables=_tables(result),
        figures=_share_figures(result) + _rate_figures(result),
        details={
            **{k: v for k, v in asdict(result).items() if k != "groupings"},
            "bins": {str(g.column): list(g.names) for g in result.groupings if g.uppers},
            "model": FAMILY,
            "thresholds": {
                "min_group_rows": MIN_GROUP_ROWS,
                "min_class_rows": MIN_CLASS_ROWS,
                "shrink_ratio": SHRINK_RATIO,
                "gap_tolerance": GAP_TOLERANCE,
                "max_bins": MAX_BINS,
            },
        },
    )
