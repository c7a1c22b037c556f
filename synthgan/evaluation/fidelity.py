"""Fidelity with sdmetrics: the QualityReport (column shapes, column pair trends) and the
DiagnosticReport (data validity, data structure), with every per-column score kept; beside
them, what sdmetrics does not show: values piled up at the edges of the real range and missing
rates (:mod:`synthgan.evaluation.edges`).

Column pair trends compare every pair of columns, O(columns^2): the QualityReport runs on at
most ``max_rows`` rows of each table (a seeded subsample, recorded in the result), which
keeps a 30-column table to seconds. The DiagnosticReport is linear and runs on every row.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from importlib.metadata import version

import numpy as np
import pandas as pd

from synthgan.evaluation.columns import ColumnProblem, column_problems
from synthgan.evaluation.edges import EdgeShare, MissingRate, edge_shares, missing_rates
from synthgan.evaluation.features import category_text
from synthgan.evaluation.marginals import Correlations, Marginal
from synthgan.report.section import Figure, Headline, Section, Table
from synthgan.schema import NUMERIC_KINDS, ColumnKind, Schema

# sdmetrics >= 0.28.1: one report class for single and multi-table data (the single_table
# classes are deprecated with a FutureWarning from 0.32); it takes {table name: DataFrame}.
from sdmetrics.reports import DiagnosticReport, QualityReport

#: synthgan column kind -> sdmetrics sdtype
SDTYPES = {
    ColumnKind.CONTINUOUS: "numerical",
    ColumnKind.INTEGER: "numerical",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.BOOLEAN: "boolean",
    ColumnKind.DATETIME: "datetime",
    ColumnKind.ID: "id",
}
#: rows of each table the QualityReport sees (column pair trends are O(columns^2))
MAX_ROWS = 5_000
#: titles of the tables this module adds beside sdmetrics' own
EDGE_TABLE = "Values at the observed min / max"
MISSING_TABLE = "Missing values per column"
#: verdict thresholds on the weaker quality property (rules of thumb; CTGAN on Adult: about 0.85)
GOOD_QUALITY, FAIR_QUALITY = 0.85, 0.70
#: the one table's name in the {name: DataFrame} mappings the sdmetrics reports take
TABLE = "table"
COLUMN_CHECKS_TABLE = "Column checks"


@dataclass(frozen=True)
class FidelityResult:
    quality: float  # mean of column shapes and column pair trends
    column_shapes: float
    column_pair_trends: float
    diagnostic: float  # mean of validity and structure
    validity: float
    structure: float
    shapes: tuple  # (column, metric, score)
    pairs: tuple  # (column 1, column 2, metric, score, real correlation, synthetic correlation)
    validity_details: tuple  # (column, metric, score)
    rows_used: tuple  # (real, synthetic) rows the QualityReport saw
    max_rows: int
    notes: tuple = field(default_factory=tuple)
    edges: tuple[EdgeShare, ...] = ()  # numeric and datetime columns, every row
    missing: tuple[MissingRate, ...] = ()  # every column, every row
    problems: tuple[ColumnProblem, ...] = ()  # synthetic columns unusable or suspicious (columns.py)
    sdmetrics_scores: dict = field(default_factory=dict)  # sdmetrics' own quality and column shapes

    @property
    def flagged_edges(self) -> tuple[str, ...]:
        """Columns whose synthetic values pile up at (or beyond) the real min or max."""
        return tuple(e.column for e in self.edges if e.flagged)

    @property
    def unusable(self) -> tuple[str, ...]:
        """Columns that are all missing, a single value, or of another type in the synthetic table."""
        return tuple(dict.fromkeys(p.column for p in self.problems if p.unusable))

    @property
    def suspicious(self) -> tuple[str, ...]:
        """Usable columns with values out of range, unseen categories, fractions or a far missing rate."""
        bad = set(self.unusable)
        return tuple(dict.fromkeys(p.column for p in self.problems if not p.unusable and p.column not in bad))


def sdmetrics_metadata(schema: Schema, real: pd.DataFrame | None = None) -> dict:
    """sdmetrics single-table metadata: each column's sdtype; a unique id column is the key."""
    columns = {c.name: {"sdtype": SDTYPES[c.kind]} for c in schema.columns}
    meta = {"columns": columns}
    ids = [c.name for c in schema.columns if c.kind is ColumnKind.ID]
    if ids and real is not None and real[ids[0]].is_unique:
        meta["primary_key"] = ids[0]
    return meta


def sdmetrics_frame(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Values sdmetrics compares reliably: categories as text (1 and 1.0 alike), naive UTC times."""
    out = {}
    for col in schema.columns:
        values = df[col.name]
        if col.kind is ColumnKind.CATEGORICAL:
            values = values.astype(object).map(lambda v: None if pd.isna(v) else category_text(v))
        elif col.kind is ColumnKind.DATETIME and values.dt.tz is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        elif col.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER):
            values = pd.to_numeric(values, errors="coerce").astype("float64")
        out[col.name] = values.to_numpy()
    return pd.DataFrame(out, columns=schema.names)


def subsample(df: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= max_rows:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=max_rows, replace=False))]


def _score(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _records(details: pd.DataFrame, columns: list[str]) -> tuple:
    if details.empty:
        return ()
    return tuple(
        tuple(_cell(row[c]) if c in details.columns else None for c in columns) for _, row in details.iterrows()
    )


def _cell(value):
    if isinstance(value, (float, np.floating)) or value is None:
        return _score(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _with_unusable(shapes: tuple, unusable: tuple) -> tuple:
    """Per-column shape scores with 0 for each unusable column (sdmetrics leaves an all-missing
    column unscored, which would drop it from the average)."""
    out = [(c, "unusable in the synthetic table", 0.0) if str(c) in unusable else (c, m, v) for c, m, v in shapes]
    seen = {str(r[0]) for r in out}
    out += [(c, "unusable in the synthetic table", 0.0) for c in unusable if c not in seen]
    return tuple(out)


def fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    converted: tuple = (),
) -> FidelityResult:
    """Run sdmetrics' QualityReport and DiagnosticReport; keep every per-column score; count
    values at the edges of the real range and missing rates on every row; check each synthetic
    column against the real one (:mod:`synthgan.evaluation.columns`).

    ``converted``: the wrong-type problems of columns already converted to the real type
    (``Tables.converted``). An unusable column scores 0 on its shape, and column shapes and
    the quality score are the means with those zeros in; sdmetrics' own figures are kept in
    ``sdmetrics_scores``.
    """
    rng = np.random.default_rng(seed)
    metadata = {"tables": {TABLE: sdmetrics_metadata(schema, real)}}
    real_sd, synth_sd = sdmetrics_frame(real, schema), sdmetrics_frame(synthetic, schema)
    real_q, synth_q = subsample(real_sd, max_rows, rng), subsample(synth_sd, max_rows, rng)
    quality, diagnostic = QualityReport(), DiagnosticReport()
    with warnings.catch_warnings():
        # scipy's KS test falls back to its asymptotic p-value on ties; the score is unaffected
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation", category=RuntimeWarning)
        # an all-missing synthetic column: scipy warns and sdmetrics leaves it unscored; the column
        # checks name it and score it 0
        warnings.filterwarnings("ignore", message="One or more sample arguments is too small")
        # pandas, inside sdmetrics' CategoryAdherence, on an all-missing category column
        warnings.filterwarnings("ignore", message="Downcasting object dtype arrays", category=FutureWarning)
        quality.generate({TABLE: real_q}, {TABLE: synth_q}, metadata, verbose=False)
        diagnostic.generate({TABLE: real_sd}, {TABLE: synth_sd}, metadata, verbose=False)
    props_q = dict(zip(*quality.get_properties().to_dict("list").values()))
    props_d = dict(zip(*diagnostic.get_properties().to_dict("list").values()))
    shapes = quality.get_details("Column Shapes")
    pairs = quality.get_details("Column Pair Trends")
    validity = diagnostic.get_details("Data Validity")
    problems = tuple(converted) + column_problems(real, synthetic, schema, skip={p.column for p in converted})
    unusable = tuple(dict.fromkeys(p.column for p in problems if p.unusable))
    shape_rows = _with_unusable(_records(shapes, ["Column", "Metric", "Score"]), unusable)
    scored = [r[2] for r in shape_rows if r[2] is not None]
    column_shapes = float(np.mean(scored)) if scored else float(props_q["Column Shapes"])
    pair_trends = _score(props_q["Column Pair Trends"])
    notes = []
    for name, details in (("column shapes", shapes), ("column pair trends", pairs), ("data validity", validity)):
        if "Error" in details.columns:
            failed = details[details["Error"].notna()]
            involved = [c for c in ("Column", "Column 1", "Column 2") if c in failed.columns]
            failed = failed[~failed[involved].astype(str).isin(unusable).any(axis=1)]  # named once, above
            for _, row in failed.head(5).iterrows():
                where = row.get("Column", (row.get("Column 1"), row.get("Column 2")))
                notes.append(f"sdmetrics could not score {name} for {where!r}: {row['Error']}")
    if len(real_q) < len(real_sd) or len(synth_q) < len(synth_sd):
        notes.append(
            f"The QualityReport ran on a seeded subsample of {len(real_q)} real and {len(synth_q)} "
            f"synthetic rows (max_rows={max_rows}); the DiagnosticReport ran on every row."
        )
    if unusable:
        notes.append(
            f"Column shapes and the quality score count each unusable column ({', '.join(map(repr, unusable))}) "
            f"as 0; sdmetrics alone, which skips what it cannot score, gives column shapes "
            f"{float(props_q['Column Shapes']):.3f} and quality {float(quality.get_score()):.3f}."
        )
    return FidelityResult(
        quality=float(np.mean([v for v in (column_shapes, pair_trends) if v is not None])),
        column_shapes=column_shapes,
        column_pair_trends=pair_trends,
        diagnostic=float(diagnostic.get_score()),
        validity=float(props_d["Data Validity"]),
        structure=float(props_d["Data Structure"]),
        shapes=shape_rows,
        pairs=_records(pairs, ["Column 1", "Column 2", "Metric", "Score", "Real Correlation", "Synthetic Correlation"]),
        validity_details=_records(validity, ["Column", "Metric", "Score"]),
        rows_used=(len(real_q), len(synth_q)),
        max_rows=max_rows,
        notes=tuple(notes),
        edges=tuple(edge_shares(real, synthetic, [c.name for c in schema.columns if c.kind in NUMERIC_KINDS])),
        missing=tuple(missing_rates(real, synthetic, schema.names)),
        problems=problems,
        sdmetrics_scores={
            "quality": float(quality.get_score()),
            "column_shapes": float(props_q["Column Shapes"]),
            "column_pair_trends": pair_trends,
        },
    )


# -- report section -------------------------------------------------------------------------
def _verdict(result: FidelityResult) -> str:
    """From the weaker of the two quality properties: a table can match every column and still
    lose every relationship between them (their mean would hide it). "poor" when any column is
    unusable (all missing, a single value, another type): one dead column makes the table
    unfit whatever the others score. At most "fair" when a column piles values up at its edges
    or fails a column check (values far out of range, unseen categories, fractions in an
    integer column, a far missing rate): a spike at the min or max costs the KS-based shape
    score little, so a high score alone does not make the data good."""
    if result.unusable:
        return "poor"
    weaker = min(v for v in (result.column_shapes, result.column_pair_trends) if v is not None)
    verdict = "good" if weaker >= GOOD_QUALITY else "fair" if weaker >= FAIR_QUALITY else "poor"
    return "fair" if verdict == "good" and (result.flagged_edges or result.suspicious) else verdict


def _problem_sentence(result: FidelityResult) -> str:
    parts = []
    if result.unusable:
        parts.append(f" Unusable synthetic column(s), so the verdict is poor: {', '.join(map(repr, result.unusable))}.")
    if result.suspicious:
        parts.append(
            f" Column(s) failing a check (see '{COLUMN_CHECKS_TABLE}'): {', '.join(map(repr, result.suspicious))}."
        )
    return "".join(parts)


def _problem_table(problems: tuple) -> Table | None:
    if not problems:
        return None
    return Table(
        COLUMN_CHECKS_TABLE,
        ("column", "problem", "share of synthetic rows", "unusable", "what is wrong"),
        tuple((p.column, p.kind, p.share, "!" if p.unusable else "", p.message) for p in problems),
        note="Unusable (!): all missing, a single value where the real column varies, or another type; "
        "the column scores 0 on its shape and the verdict is poor. Other problems make the verdict at most fair.",
    )


def _marginal_figure(m: Marginal) -> Figure:
    caption = []
    if m.real_missing or m.synthetic_missing:
        caption.append(f"missing: real {m.real_missing:.1%}, synthetic {m.synthetic_missing:.1%}")
    if m.outside:
        caption.append(f"{m.outside:.1%} of synthetic values fall outside the real range")
    return Figure(
        "columns",
        str(m.column),
        tuple(str(lab) for lab in m.labels),
        {"real": m.real, "synthetic": m.synthetic},
        caption="; ".join(caption),
        group="Distributions, real vs synthetic (share of known values)",
    )


def _heatmaps(corr: Correlations) -> list[Figure]:
    group = "Correlations of numeric columns, real vs synthetic"
    key = "Pearson correlation"
    labels = tuple(str(c) for c in corr.columns)
    gap = "n/a" if corr.mean_abs_gap is None else f"{corr.mean_abs_gap:.3f}"
    return [
        Figure(
            "heatmap", "Real", labels, matrix=corr.real, domain=(-1.0, 1.0), group=group, value_label=key
        ),
        Figure(
            "heatmap",
            "Synthetic",
            labels,
            matrix=corr.synthetic,
            domain=(-1.0, 1.0),
            group=group,
            value_label=key,
            caption=f"Mean absolute difference between the two matrices: {gap}."
            + (f" {corr.left_out} more numeric columns not shown." if corr.left_out else ""),
        ),
    ]


def _edge_sentence(flagged: tuple) -> str:
    if not flagged:
        return ""
    have, their = ("column has", "its") if len(flagged) == 1 else ("columns have", "their")
    return (
        f" {len(flagged)} {have} more than twice the real share of values at (or beyond) {their} min or max: "
        f"{', '.join(flagged)}."
    )


def _edge_table(edges: tuple) -> Table | None:
    if not edges:
        return None
    worst = sorted(edges, key=lambda e: (not e.flagged, -e.ratio))
    return Table(
        EDGE_TABLE,
        ("column", "real at min", "synthetic at min", "real at max", "synthetic at max", "flagged"),
        tuple(
            (e.column, e.real_low, e.synthetic_low, e.real_high, e.synthetic_high, "!" if e.flagged else "")
            for e in worst
        ),
        note="Share of each column's known values at the real minimum and maximum (synthetic: at or beyond "
        "them). Flagged (!): a synthetic share above twice the real one plus three binomial standard errors, "
        "the pile-up a generator that clips to the observed range leaves behind.",
        collapsed=not any(e.flagged for e in edges),
    )


def _missing_table(missing: tuple) -> Table | None:
    rows = tuple((m.column, m.real, m.synthetic, m.error) for m in missing if m.real or m.synthetic)
    if not rows:
        return None
    return Table(
        MISSING_TABLE,
        ("column", "real", "synthetic", "error"),
        rows,
        note="Share of rows with a missing value; columns not listed have none in either table.",
    )


def fidelity_section(
    result: FidelityResult, marginals: tuple = (), correlations: Correlations | None = None
) -> Section:
    worst = sorted((r for r in result.shapes if r[2] is not None), key=lambda r: r[2])
    figures = []
    if worst:
        figures.append(
            Figure(
                "bars",
                "Column shape score per column (worst first)",
                tuple(str(r[0]) for r in worst),
                {"column shape score": tuple(r[2] for r in worst)},
                domain=(0.0, 1.0),
                value_label="column shape score (0 to 1)",
                caption="1 = the synthetic column's distribution matches the real one "
                "(KS complement for numbers and dates, TV complement for categories).",
                group="Column shapes",
            )
        )
    if correlations is not None:
        figures += _heatmaps(correlations)
    figures += [_marginal_figure(m) for m in marginals if m.labels]
    summary = (
        f"sdmetrics quality score {result.quality:.3f}: column distributions match at "
        f"{result.column_shapes:.3f} and pairwise trends at {_f(result.column_pair_trends)} (1 = same as real); "
        f"validity and structure score {result.diagnostic:.3f}."
        + _problem_sentence(result)
        + _edge_sentence(result.flagged_edges)
    )
    extra_tables = [
        t
        for t in (_problem_table(result.problems), _edge_table(result.edges), _missing_table(result.missing))
        if t is not None
    ]
    return Section(
        key="fidelity",
        title="Fidelity (sdmetrics)",
        summary=summary,
        verdict=_verdict(result),
        headline=[
            Headline(
                "quality score", result.quality, "Mean of column shapes and column pair trends; 1 is a perfect match."
            ),
            Headline(
                "column shapes", result.column_shapes, "How closely each column's distribution matches the real one."
            ),
            Headline(
                "column pair trends",
                result.column_pair_trends,
                "How closely correlations and associations between pairs of columns match.",
            ),
            Headline(
                "data validity",
                result.validity,
                "Share of synthetic values inside the real ranges and categories. A generator that clips numbers "
                "to the observed range (enforce_bounds) scores 1.0 here by construction: read the table "
                f"'{EDGE_TABLE}' to see whether values piled up at the edges instead.",
            ),
            Headline("data structure", result.structure, "Whether the synthetic table has the real table's columns."),
        ],
        notes=[
            *(p.message for p in result.problems),
            f"Verdict from the weaker of column shapes and column pair trends: good from {GOOD_QUALITY}, "
            f"fair from {FAIR_QUALITY}, poor below (rules of thumb); poor when any synthetic column is unusable "
            f"(all missing, a single value, another type); at most fair when any column is flagged in "
            f"'{EDGE_TABLE}' or fails a check in '{COLUMN_CHECKS_TABLE}'.",
            "Column pair trends count the pairs sdmetrics considers meaningful: numeric pairs with a real "
            "correlation above 0.5 and discrete pairs with an association above 0.3 (sdmetrics' defaults).",
            *result.notes,
        ],
        tables=[
            Table("Column shapes", ("column", "metric", "score"), result.shapes, collapsed=True),
            Table(
                "Column pair trends",
                ("column 1", "column 2", "metric", "score", "real correlation", "synthetic correlation"),
                result.pairs,
                collapsed=True,
            ),
            Table(
                "Data validity",
                ("column", "metric", "score"),
                result.validity_details,
                note=f"1.0 by construction when the generator clips numbers to the observed range; see '{EDGE_TABLE}'.",
                collapsed=True,
            ),
            *extra_tables,
        ],
        figures=figures,
        details={
            "quality": result.quality,
            "column_shapes": result.column_shapes,
            "column_pair_trends": result.column_pair_trends,
            "diagnostic": result.diagnostic,
            "validity": result.validity,
            "structure": result.structure,
            "per_column_shapes": [dict(zip(("column", "metric", "score"), r)) for r in result.shapes],
            "per_pair_trends": [
                dict(zip(("column_1", "column_2", "metric", "score", "real_correlation", "synthetic_correlation"), r))
                for r in result.pairs
            ],
            "per_column_validity": [dict(zip(("column", "metric", "score"), r)) for r in result.validity_details],
            "rows_used": {"real": result.rows_used[0], "synthetic": result.rows_used[1], "max_rows": result.max_rows},
            "edge_shares": [{**asdict(e), "ratio": e.ratio} for e in result.edges],
            "flagged_edge_columns": list(result.flagged_edges),
            "missing_rates": [{**asdict(m), "error": m.error} for m in result.missing],
            "correlation_mean_abs_gap": None if correlations is None else correlations.mean_abs_gap,
            "column_problems": [{**asdict(p), "unusable": p.unusable} for p in result.problems],
            "unusable_columns": list(result.unusable),
            "suspicious_columns": list(result.suspicious),
            "sdmetrics_scores": dict(result.sdmetrics_scores),
            "sdmetrics_version": version("sdmetrics"),
        },
    )


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
