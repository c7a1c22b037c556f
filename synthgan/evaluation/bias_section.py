"""The bias section of the report: what :func:`synthgan.evaluation.bias.bias` found, in words, numbers and charts."""

from __future__ import annotations

from dataclasses import asdict

from synthgan.evaluation.bias import (
    AMPLIFIED,
    BOOTSTRAP,
    BiasResult,
    FAIR_TVD,
    FAMILY,
    FIGURE_GROUPS,
    GAP_TOLERANCE,
    GOOD_TVD,
    MAX_BINS,
    MIN_CLASS_ROWS,
    MIN_GROUP_ROWS,
    SEPARATOR,
    SHRINK_RATIO,
    SHRUNK,
    TRAINED_REAL,
    TRAINED_SYNTHETIC,
    VANISHED,
    WORSE,
)
from synthgan.report.section import Figure, Headline, Section, Table


def _gaps(result: BiasResult) -> list:
    """(what, gap, rows) for every outcome and downstream gap with a change."""
    out = [("The parity gap of the outcome rate", g, "real against synthetic rows") for g in result.outcomes]
    out += [
        ("The equalised-odds gap of a model trained on synthetic rather than real rows", g,
         f"{sum(x.rows for x in g.groups)} holdout rows, paired bootstrap")
        for g in result.downstream
    ]
    return [(what, g, rows) for what, g, rows in out if g.change is not None]


def _verdict(result: BiasResult) -> str:
    """Poor when a group vanished, a gap widened beyond its allowance or the TVD exceeds FAIR_TVD;
    fair when a group shrank, a gap widened beyond GAP_TOLERANCE but within its sampling
    allowance (possible harm, not confirmed) or the TVD exceeds GOOD_TVD; good otherwise."""
    kinds = {f.kind for f in result.flags}
    tvd = result.max_tvd or 0.0
    if kinds & {VANISHED, AMPLIFIED, WORSE} or tvd > FAIR_TVD:
        return "poor"
    if SHRUNK in kinds or tvd > GOOD_TVD or any(g.unconfirmed for _, g, _ in _gaps(result)):
        return "fair"
    return "good"


def _reasons(result: BiasResult, verdict: str) -> str:
    """Why the verdict is what it is: every finding that set it, with numbers and allowances."""
    kinds = {f.kind for f in result.flags}
    tvd = result.max_tvd or 0.0
    why = []
    for kind, text in ((VANISHED, "a group vanished"), (SHRUNK, "a group shrank"), (AMPLIFIED, "an outcome gap widened"),
                       (WORSE, "downstream fairness got worse")):
        if kind in kinds:
            groups = ", ".join(_named(f.facet, f.group) if f.group else repr(f.facet) for f in result.flagged(kind))
            why.append(f"{text} ({groups})")
    if tvd > GOOD_TVD:
        why.append(f"group shares differ by a TVD of {tvd:.3f} (good up to {GOOD_TVD}, fair up to {FAIR_TVD})")
    unconfirmed = [g for _, g, _ in _gaps(result) if g.unconfirmed]
    if unconfirmed:
        why.append("a gap widened by more than " + f"{GAP_TOLERANCE} but within its sampling allowance (" +
                   ", ".join(f"{g.facet!r} {g.change:+.3f}, allowance {g.allowance:.3f}" for g in unconfirmed) + ")")
    if not why:
        return f"Verdict {verdict}: no group vanished or shrank, no gap widened by more than {GAP_TOLERANCE}, and " \
               f"group shares differ by a TVD of {tvd:.3f} (at most {GOOD_TVD})."
    return f"Verdict {verdict}: " + "; ".join(why) + "."


def _named(facet: str, group) -> str:
    """A group with its column name: ``sex = 1``; intersections ``sex = 1 × age = 19–30``."""
    columns, values = str(facet).split(SEPARATOR), str(group).split(SEPARATOR)
    if len(columns) != len(values):
        return f"{facet} = {group}"
    return SEPARATOR.join(f"{c} = {v}" for c, v in zip(columns, values))


def _worst(gaps) -> tuple:
    """(largest change, its facet) over facets with a change; (None, None) when none."""
    known = [g for g in gaps if g.change is not None]
    if not known:
        return None, None
    gap = max(known, key=lambda g: g.change)
    return gap.change, gap.facet


def _share_figures(result: BiasResult) -> list:
    """Small multiples of one size: group shares per sensitive column, then the TVD of every facet."""
    reps = result.representation
    figures = []
    for rep in (r for r in reps if r.facet in result.sensitive):
        shown = rep.groups[:FIGURE_GROUPS]
        hidden = len(rep.groups) - len(shown)
        figures.append(
            Figure(
                "columns",
                f"Group shares: {rep.facet}",
                tuple(_named(rep.facet, g.group) for g in shown),
                {"real": tuple(g.real_share for g in shown), "synthetic": tuple(g.synthetic_share for g in shown)},
                caption=f"{hidden} smaller groups not shown." if hidden else "",
                group="Representation: share of rows per group",
            )
        )
    figures.append(
        Figure(
            "bars",
            "Group share distance (TVD) per column and intersection",
            tuple(r.facet for r in reps),
            {"TVD": tuple(r.tvd for r in reps)},
            domain=(0.0, 1.0),
            value_label="total variation distance (0 = same shares)",
            caption="0 = every group has the same share of synthetic rows as of real rows.",
            group="Representation: distance per column",
        )
    )
    return figures


def _rate_figures(result: BiasResult) -> list:
    """Columns of one size on a shared 0-1 axis: outcome rate, then TPR and FPR, per group."""
    figures = []
    for gap in (g for g in result.outcomes if g.facet in result.sensitive):
        shown = gap.rates[:FIGURE_GROUPS]
        figures.append(
            Figure(
                "columns",
                f"Rate of {result.target} = {result.positive}: {gap.facet}",
                tuple(_named(gap.facet, x.group) for x in shown),
                {"real": tuple(x.real_rate for x in shown), "synthetic": tuple(x.synthetic_rate for x in shown)},
                domain=(0.0, 1.0),
                caption="Missing bar: too few rows to estimate.",
                group="Outcome rate per group, real vs synthetic",
            )
        )
    for gap in (g for g in result.downstream if g.facet in result.sensitive):
        shown = gap.groups[:FIGURE_GROUPS]
        for metric, meaning in (("TPR", "true positive rate"), ("FPR", "false positive rate")):
            figures.append(
                Figure(
                    "columns",
                    f"{metric} ({meaning}): {gap.facet}",
                    tuple(_named(gap.facet, g.group) for g in shown),
                    {arm: tuple(g.scores[arm][metric] for g in shown) for arm in (TRAINED_REAL, TRAINED_SYNTHETIC)},
                    domain=(0.0, 1.0),
                    caption="On the real holdout. Equal TPR and equal FPR across groups is equalised odds; "
                    "missing bar: too few rows to estimate.",
                    group="Downstream fairness: error rates per group",
                )
            )
    return figures


def _tables(result: BiasResult) -> list:
    tables = [
        Table(
            "Group shares",
            ("columns", "group", "real rows", "synthetic rows", "real share", "synthetic share", "status"),
            tuple(
                (r.facet, _named(r.facet, g.group), g.real_rows, g.synthetic_rows, g.real_share, g.synthetic_share, g.status)
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
                    (g.facet, _named(g.facet, x.group), x.real_rows, x.real_rate, x.synthetic_rows, x.synthetic_rate)
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
                    (gap.facet, _named(gap.facet, g.group), g.rows, g.positives, arm, s["accuracy"], s["TPR"], s["FPR"])
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
        f"Verdict rule: poor when a group vanished, a gap widened beyond its allowance or the TVD exceeds "
        f"{FAIR_TVD}; fair when a group shrank, a gap widened by more than {GAP_TOLERANCE} but within its "
        f"allowance, or the TVD exceeds {GOOD_TVD}; good otherwise. A gap's allowance is {GAP_TOLERANCE} plus "
        "twice the sampling error of its change: of two independent tables for the outcome gap, of a paired "
        "bootstrap of the holdout rows (both models scored on the same rows) for the equalised-odds gap. "
        "The error grows as groups get smaller, so on a small holdout only a large widening is confirmed."
    )
    verdict = _verdict(result)
    reasons = _reasons(result, verdict)
    gaps = [g.explain(what, rows) for what, g, rows in _gaps(result) if g.change > GAP_TOLERANCE]
    positive = (
        f"Outcome: the positive class is {result.positive!r} (the minority class); with more than two classes "
        "it is compared against all the others together."
    )
    return Section(
        key="bias",
        title=title,
        summary=_summary(result) + " " + reasons,
        verdict=verdict,
        headline=_headline(result),
        notes=[
            reasons,
            *(f.message for f in result.flags),
            *gaps,
            rule,
            *([positive] if result.outcomes else []),
            *result.notes,
        ],
        tables=_tables(result),
        figures=_share_figures(result) + _rate_figures(result),
        details={
            **{k: v for k, v in asdict(result).items() if k != "groupings"},
            "allowances": [
                {"facet": g.facet, "part": what, "change": g.change, "noise": g.noise, "allowance": g.allowance,
                 "widened": g.widened, "unconfirmed": g.unconfirmed}
                for what, g, _ in _gaps(result)
            ],
            "bins": {str(g.column): list(g.names) for g in result.groupings if g.uppers},
            "model": FAMILY,
            "thresholds": {
                "min_group_rows": MIN_GROUP_ROWS,
                "min_class_rows": MIN_CLASS_ROWS,
                "shrink_ratio": SHRINK_RATIO,
                "gap_tolerance": GAP_TOLERANCE,
                "bootstrap": BOOTSTRAP,
                "max_bins": MAX_BINS,
            },
        },
    )
