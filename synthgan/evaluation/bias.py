"""Bias: does the synthetic table treat the groups of sensitive columns as the real one does?

Three questions, each asked of every sensitive column and of every pair of them (their
intersections, e.g. sex x race):

1. Representation: the share of rows in each group, real against synthetic. A group that
   vanishes or shrinks to less than half its real share is flagged by name.
2. Outcome association (classification targets): the rate of the positive class in each
   group. Synthesis that widens the gap between groups (demographic parity difference) is
   flagged.
3. Downstream fairness (with a holdout): a model trained on synthetic rows and one trained on
   real rows, both scored per group on the real holdout (accuracy, TPR, FPR). A wider
   equalised-odds difference after synthetic training is flagged.

The metrics are simple rates, computed here and checked against fairlearn in the tests, so
fairlearn stays an optional dependency.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthgan.errors import ConfigError, listing
from synthgan.evaluation.features import MISSING, category_text, feature_spec
from synthgan.evaluation.inputs import Tables, Target, label_values
from synthgan.evaluation.marginals import as_numbers
from synthgan.evaluation.utility import fit_predict, xy
from synthgan.schema import DISCRETE_KINDS, ColumnKind

#: numeric and datetime sensitive columns are cut into at most this many quantile bins of the real values
MAX_BINS = 5
#: a group needs this many rows (real rows, expected synthetic rows, holdout rows) to be judged or to get a rate
MIN_GROUP_ROWS = 30
#: TPR and FPR need this many actual positives / negatives in a group
MIN_CLASS_ROWS = 10
#: a judged group "shrank" when its synthetic share is below this fraction of its real share
SHRINK_RATIO = 0.5
#: a gap (parity or equalised odds) may widen this much, plus twice its sampling error, before it is
#: flagged (verdict "poor"); a widening beyond this tolerance alone, within the sampling error, is
#: not confirmed but makes the verdict at most "fair"
GAP_TOLERANCE = 0.05
#: paired bootstrap replicates of the holdout for the sampling error of an equalised-odds change
BOOTSTRAP = 200
#: verdict thresholds on the largest group-share TVD of a single sensitive column
GOOD_TVD, FAIR_TVD = 0.05, 0.15
#: the model family trained for downstream fairness (see features.MODEL_FAMILIES)
FAMILY = "boosted trees"
SEPARATOR = " \u00d7 "
VANISHED, SHRUNK, AMPLIFIED, WORSE = "vanished", "shrunk", "amplified", "worse"
TRAINED_REAL, TRAINED_SYNTHETIC = "trained on real", "trained on synthetic"
#: groups drawn per figure (the largest real ones); tables hold every group
FIGURE_GROUPS = 15


# -- groups ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grouping:
    """How one sensitive column's values become group names: categories, or bins of the real values.

    Bin ``i`` holds the values in ``(uppers[i-1], uppers[i]]``; the first bin also holds
    everything below, the last everything above, so synthetic values beyond the real range
    still land in a group.
    """

    column: object
    uppers: tuple = ()  # empty: a discrete column, its categories are the groups
    names: tuple = ()
    quantiles: bool = True  # False: a numeric column with so few values that each is a group

    def assign(self, series: pd.Series) -> np.ndarray:
        if not self.uppers:
            return series.astype(object).map(category_text).to_numpy(dtype=object)
        values = as_numbers(series)
        index = np.minimum(np.searchsorted(np.asarray(self.uppers), values, side="left"), len(self.uppers) - 1)
        out = np.asarray(self.names, dtype=object)[index]
        out[np.isnan(values)] = MISSING
        return out

    def describe(self) -> str:
        if not self.uppers:
            return f"{self.column!r}: each category is a group"
        if not self.quantiles:
            return f"{self.column!r}: each of its {len(self.names)} values is a group"
        return (
            f"{self.column!r}: {len(self.names)} quantile bins of the real values ({', '.join(self.names)}); "
            "synthetic values beyond the real range fall in the lowest or highest bin"
        )


#: label formats for bin edges, coarsest first; the first that keeps every bin name distinct is used
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S.%f")
DIGITS = (3, 4, 5, 6, 8, 10, 17)


def _label(value: float, kind: ColumnKind, precision: int) -> str:
    if kind is ColumnKind.DATETIME:
        return pd.Timestamp(value, unit="s").strftime(DATE_FORMATS[precision])
    if kind is ColumnKind.INTEGER:
        return str(int(value))
    return f"{value:.{DIGITS[precision]}g}"


def _bin_names(known: np.ndarray, uppers: np.ndarray, kind: ColumnKind) -> tuple:
    """``low–high`` per bin, from the smallest and largest real value in it (one value: ``high``)."""
    lows = [known.min()] + [known[known > u].min() for u in uppers[:-1]]
    for precision in range(len(DATE_FORMATS if kind is ColumnKind.DATETIME else DIGITS)):
        low, high = [_label(v, kind, precision) for v in lows], [_label(v, kind, precision) for v in uppers]
        names = tuple(h if lo == hi else f"{a}\u2013{h}" for a, h, lo, hi in zip(low, high, lows, uppers))
        if len(set(names)) == len(names):
            break
    return names


def grouping(column, real: pd.Series, kind: ColumnKind) -> Grouping:
    """Categories for discrete columns; up to MAX_BINS quantile bins (edges are real values) otherwise."""
    if kind in DISCRETE_KINDS:
        return Grouping(column)
    known = as_numbers(real)
    known = known[~np.isnan(known)]
    if len(known) == 0:
        return Grouping(column, (0.0,), (MISSING,))
    distinct = np.unique(known)
    few = len(distinct) <= MAX_BINS
    if few:
        uppers = distinct
    else:
        uppers = np.unique(np.quantile(known, np.linspace(0, 1, MAX_BINS + 1)[1:], method="lower"))
    return Grouping(column, tuple(float(u) for u in uppers), _bin_names(known, uppers, kind), quantiles=not few)


def _order(real: np.ndarray, synthetic: np.ndarray, grouping_order: tuple = ()) -> list:
    """Group names: bins in order (or real groups by size), then synthetic-only groups."""
    counts = pd.Series(real).value_counts(sort=True)
    first = [g for g in grouping_order if g in counts.index] if grouping_order else list(counts.index)
    rest = [g for g in counts.index if g not in first]
    seen = set(first) | set(rest)
    extra = [g for g in pd.Series(synthetic).value_counts().index if g not in seen]
    return first + rest + extra


# -- result types ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Flag:
    kind: str  # VANISHED, SHRUNK, AMPLIFIED or WORSE
    facet: str  # a sensitive column, or two joined by SEPARATOR
    group: str | None
    message: str


@dataclass(frozen=True)
class GroupShare:
    group: str
    real_rows: int
    synthetic_rows: int
    real_share: float
    synthetic_share: float
    status: str  # "ok", VANISHED, SHRUNK, "too small to judge", "not in real"


@dataclass(frozen=True)
class Representation:
    facet: str
    groups: tuple  # of GroupShare
    tvd: float


@dataclass(frozen=True)
class GroupRate:
    group: str
    real_rows: int
    real_rate: float | None  # None: fewer than MIN_GROUP_ROWS rows
    synthetic_rows: int
    synthetic_rate: float | None


@dataclass(frozen=True)
class Spread:
    """The widest gap in a rate between two groups, and its sampling error."""

    difference: float | None
    ratio: float | None  # lowest rate / highest rate
    high: str | None
    low: str | None
    error: float = 0.0


class GapChange:
    """``change``: the synthetic gap minus the real one (positive: synthesis widened it);
    ``allowance``: how far it may widen before it is flagged, GAP_TOLERANCE plus twice the
    sampling error of the change (``noise``)."""

    @property
    def change(self):
        if self.real.difference is None or self.synthetic.difference is None:
            return None
        return self.synthetic.difference - self.real.difference

    @property
    def noise(self) -> float:
        """Standard error of ``change``: of two independent gaps, unless measured (``change_error``)."""
        measured = getattr(self, "change_error", None)
        return float(measured) if measured is not None else float(np.hypot(self.real.error, self.synthetic.error))

    @property
    def allowance(self) -> float:
        return GAP_TOLERANCE + 2 * self.noise

    @property
    def widened(self) -> bool:
        """Widened beyond the allowance: flagged."""
        return self.change is not None and self.change > self.allowance

    @property
    def unconfirmed(self) -> bool:
        """Widened beyond GAP_TOLERANCE but within the sampling allowance: possible, not shown."""
        return self.change is not None and GAP_TOLERANCE < self.change <= self.allowance

    def explain(self, what: str, rows: str) -> str:
        """The change, the allowance and what it means, in a sentence."""
        base = (
            f"{what} across {self.facet!r} went from {self.real.difference:.3f} to {self.synthetic.difference:.3f} "
            f"({self.change:+.3f}); the allowance is {GAP_TOLERANCE} + 2 \u00d7 {self.noise:.3f} sampling error "
            f"= {self.allowance:.3f} ({rows})"
        )
        if self.widened:
            return base + ": widened beyond it."
        if self.unconfirmed:
            return (
                base + f": wider by more than {GAP_TOLERANCE}, but within what sampling alone can produce, so not "
                "confirmed; the verdict is at most fair. More rows would tell."
            )
        return base + ": within it."


@dataclass(frozen=True)
class OutcomeGap(GapChange):
    facet: str
    rates: tuple  # of GroupRate
    real: Spread
    synthetic: Spread


@dataclass(frozen=True)
class GroupErrors:
    group: str
    rows: int
    positives: int
    scores: dict  # arm -> {"accuracy", "TPR", "FPR"}; None where too few rows


@dataclass(frozen=True)
class OddsGap(GapChange):
    facet: str
    groups: tuple  # of GroupErrors
    real: Spread  # equalised-odds difference of the model trained on real rows
    synthetic: Spread
    #: standard deviation of the change over a paired bootstrap of the holdout rows (both models
    #: are scored on the same rows, so their errors move together; None: too few replicates)
    change_error: float | None = None


@dataclass(frozen=True)
class BiasResult:
    sensitive: tuple  # the columns analysed
    groupings: tuple  # Grouping of each analysed column
    representation: tuple  # Representation per facet (columns, then pairs)
    outcomes: tuple = ()  # OutcomeGap per facet; empty when skipped
    downstream: tuple = ()  # OddsGap per facet; empty when skipped
    flags: tuple = ()
    target: str | None = None
    positive: object = None
    notes: tuple = field(default_factory=tuple)

    def flagged(self, kind: str) -> list:
        return [f for f in self.flags if f.kind == kind]

    @property
    def max_tvd(self):
        """Largest group-share TVD of a single sensitive column."""
        singles = [r.tvd for r in self.representation if r.facet in self.sensitive]
        return max(singles) if singles else None


# -- checks ---------------------------------------------------------------------------------
def check_sensitive(tables: Tables, sensitive, goal: Target | None) -> list:
    """The sensitive columns as a list; a ConfigError naming any that cannot be grouped."""
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if not isinstance(sensitive, (list, tuple)) or not sensitive:
        raise ConfigError(f"bias: sensitive={sensitive!r}: expected a non-empty list of column names")
    columns = list(tables.real.columns)
    for name in sensitive:
        if name in tables.dropped:
            raise ConfigError(
                f"bias: sensitive column {name!r} is an identifier column absent from the synthetic table"
            )
        if name not in columns:
            close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=3)
            hint = f"; did you mean {close}?" if close else f"; the columns are {listing(columns)}"
            raise ConfigError(f"bias: sensitive column {name!r} is not a column of the tables{hint}")
        if goal is not None and name == goal.name:
            raise ConfigError(f"bias: {name!r} is the target; a sensitive column must be another column")
        if tables.schema[name].kind is ColumnKind.ID:
            raise ConfigError(
                f"bias: sensitive column {name!r} was detected as an identifier (unique per row), so it has "
                f"no groups; mark it categorical with metadata={{{name!r}: 'categorical'}}"
            )
    dupes = sorted({str(n) for n in sensitive if list(sensitive).count(n) > 1})
    if dupes:
        raise ConfigError(f"bias: sensitive columns {dupes} are listed more than once")
    return list(sensitive)


# -- representation -------------------------------------------------------------------------
def representation(facet: str, real: np.ndarray, synthetic: np.ndarray, order: tuple = ()) -> Representation:
    """Group shares real vs synthetic, their TVD, and each group's status."""
    n_real, n_synth = len(real), len(synthetic)
    counts_r, counts_s = pd.Series(real).value_counts(), pd.Series(synthetic).value_counts()
    groups = []
    for g in _order(real, synthetic, order):
        r, s = int(counts_r.get(g, 0)), int(counts_s.get(g, 0))
        share_r, share_s = r / n_real, s / n_synth
        if r == 0:
            status = "not in real"
        elif r < MIN_GROUP_ROWS or share_r * n_synth < MIN_GROUP_ROWS:
            status = "too small to judge"
        elif s == 0:
            status = VANISHED
        elif share_s < SHRINK_RATIO * share_r:
            status = SHRUNK
        else:
            status = "ok"
        groups.append(GroupShare(str(g), r, s, share_r, share_s, status))
    tvd = 0.5 * sum(abs(g.real_share - g.synthetic_share) for g in groups)
    return Representation(facet, tuple(groups), float(tvd))


def representation_flags(reps: list) -> list:
    """A flag per vanished or shrunk group; an intersection only when neither of its parts is flagged."""
    singles = {(r.facet, g.group) for r in reps for g in r.groups if g.status in (VANISHED, SHRUNK)}

    def implied(facet: str, group: str) -> bool:
        return any(
            (facet.startswith(f + SEPARATOR) and group.startswith(g + SEPARATOR))
            or (facet.endswith(SEPARATOR + f) and group.endswith(SEPARATOR + g))
            for f, g in singles
        )

    flags = []
    for rep in reps:
        for g in rep.groups:
            if g.status not in (VANISHED, SHRUNK) or implied(rep.facet, g.group):
                continue
            where = f"Group {g.group!r} of {rep.facet!r}"
            if g.status == VANISHED:
                text = f"{where} vanished: {g.real_rows} real rows ({g.real_share:.1%}), none in the synthetic table."
            else:
                text = (
                    f"{where} shrank: {g.synthetic_share:.1%} of synthetic rows against {g.real_share:.1%} "
                    f"of real rows (less than {SHRINK_RATIO:.0%} of its real share)."
                )
            flags.append(Flag(g.status, rep.facet, g.group, text))
    return flags


# -- outcome association --------------------------------------------------------------------
def positives(df: pd.DataFrame, goal: Target) -> tuple[np.ndarray, np.ndarray]:
    """(rows whose target is known, whether each is of the positive class)."""
    labels = label_values(df[goal.name])
    known = np.array([v is not None for v in labels], dtype=bool)
    hit = np.array([v == goal.minority for v in labels[known]], dtype=bool)
    return known, hit


def spread(rates: dict, sizes: dict) -> Spread:
    """Widest gap between group rates (None rates left out) with the binomial error of that gap."""
    known = {g: r for g, r in rates.items() if r is not None}
    if len(known) < 2:
        return Spread(None, None, None, None)
    high, low = max(known, key=known.get), min(known, key=known.get)
    error = np.sqrt(sum(known[g] * (1 - known[g]) / sizes[g] for g in (high, low)))
    ratio = known[low] / known[high] if known[high] > 0 else None
    return Spread(float(known[high] - known[low]), ratio, high, low, float(error))


def _rate(hit: np.ndarray, mask: np.ndarray, minimum: int):
    n = int(mask.sum())
    return (float(hit[mask].mean()) if n >= minimum else None), n


def outcome_gap(facet: str, groups_real, hit_real, groups_synth, hit_synth, order: list) -> OutcomeGap:
    """Positive rate per group in each table; the parity difference over groups large enough in both."""
    rates = []
    for g in order:
        r, n_r = _rate(hit_real, groups_real == g, MIN_GROUP_ROWS)
        s, n_s = _rate(hit_synth, groups_synth == g, MIN_GROUP_ROWS)
        rates.append(GroupRate(g, n_r, r, n_s, s))
    both = [x for x in rates if x.real_rate is not None and x.synthetic_rate is not None]
    real = spread({x.group: x.real_rate for x in both}, {x.group: x.real_rows for x in both})
    synth = spread({x.group: x.synthetic_rate for x in both}, {x.group: x.synthetic_rows for x in both})
    return OutcomeGap(facet, tuple(rates), real, synth)


def outcome_flags(gaps: list, goal: Target) -> list:
    flags = []
    for gap in gaps:
        if gap.widened:
            s = gap.synthetic
            rate = {x.group: x.synthetic_rate for x in gap.rates}
            flags.append(
                Flag(
                    AMPLIFIED,
                    gap.facet,
                    None,
                    f"Synthesis amplified the gap across {gap.facet!r}: the rate of {goal.name} = "
                    f"{goal.minority!r} differs by {s.difference:.2f} between groups in the synthetic table "
                    f"({s.high!r} {rate[s.high]:.2f}, {s.low!r} {rate[s.low]:.2f}) against "
                    f"{gap.real.difference:.2f} in the real table, beyond the allowance of {gap.allowance:.2f} "
                    f"({GAP_TOLERANCE} + 2 \u00d7 {gap.noise:.3f} sampling error).",
                )
            )
    return flags


# -- downstream fairness --------------------------------------------------------------------
def error_rates(y_pos: np.ndarray, pred_pos: np.ndarray, correct: np.ndarray) -> dict:
    """Accuracy, true positive rate and false positive rate of one group (None when too few rows)."""
    pos, neg = y_pos, ~y_pos
    return {
        "accuracy": float(correct.mean()) if len(correct) >= MIN_GROUP_ROWS else None,
        "TPR": float(pred_pos[pos].mean()) if len(correct) >= MIN_GROUP_ROWS and pos.sum() >= MIN_CLASS_ROWS else None,
        "FPR": float(pred_pos[neg].mean()) if len(correct) >= MIN_GROUP_ROWS and neg.sum() >= MIN_CLASS_ROWS else None,
    }


def odds_spread(groups: list, arm: str) -> Spread:
    """Equalised-odds difference: the wider of the TPR gap and the FPR gap between groups."""
    tpr = spread({g.group: g.scores[arm]["TPR"] for g in groups}, {g.group: g.positives for g in groups})
    fpr = spread({g.group: g.scores[arm]["FPR"] for g in groups}, {g.group: g.rows - g.positives for g in groups})
    known = [s for s in (tpr, fpr) if s.difference is not None]
    return max(known, key=lambda s: s.difference) if known else Spread(None, None, None, None)


def downstream(tables: Tables, goal: Target, facets: list, orders: list, seed: int) -> list:
    """One model per arm (real rows, synthetic rows), scored per group on the real holdout."""
    spec = feature_spec(tables.schema, goal.name)
    test = tables.holdout[tables.holdout[goal.name].notna()]
    X_test, y_test = xy(test, goal, spec)
    y_pos = np.array([v == goal.minority for v in y_test], dtype=bool)
    predictions = {}
    for arm, df in ((TRAINED_REAL, tables.real), (TRAINED_SYNTHETIC, tables.synthetic)):
        X, y = xy(df, goal, spec)
        pred = fit_predict(FAMILY, goal, spec, X, y, X_test, seed)[0]
        predictions[arm] = (np.array([v == goal.minority for v in pred], dtype=bool), pred == y_test)
    out = []
    rng = np.random.default_rng(seed)
    replicates = [rng.integers(0, len(y_pos), len(y_pos)) for _ in range(BOOTSTRAP)]
    for facet, order in zip(facets, orders):
        labels = facet.assign(test)
        groups = _group_errors(labels, order, y_pos, predictions)
        real, synth = odds_spread(groups, TRAINED_REAL), odds_spread(groups, TRAINED_SYNTHETIC)
        changes = []
        for rows in replicates:
            again = _group_errors(labels[rows], order, y_pos[rows], {a: (p[rows], c[rows]) for a, (p, c) in predictions.items()})
            before, after = odds_spread(again, TRAINED_REAL), odds_spread(again, TRAINED_SYNTHETIC)
            if before.difference is not None and after.difference is not None:
                changes.append(after.difference - before.difference)
        error = float(np.std(changes, ddof=1)) if len(changes) >= BOOTSTRAP // 2 else None
        out.append(OddsGap(facet.name, tuple(groups), real, synth, error))
    return out


def _group_errors(labels: np.ndarray, order: list, y_pos: np.ndarray, predictions: dict) -> list:
    groups = []
    for g in order:
        mask = labels == g
        if mask.any():
            scores = {arm: error_rates(y_pos[mask], said[mask], right[mask]) for arm, (said, right) in predictions.items()}
            groups.append(GroupErrors(g, int(mask.sum()), int(y_pos[mask].sum()), scores))
    return groups


def downstream_flags(gaps: list) -> list:
    return [
        Flag(
            WORSE,
            gap.facet,
            None,
            f"Training on synthetic data made the model less fair across {gap.facet!r}: its equalised-odds "
            f"difference on the real holdout is {gap.synthetic.difference:.2f}, against {gap.real.difference:.2f} "
            f"for the same model trained on real data, beyond the allowance of {gap.allowance:.2f} "
            f"({GAP_TOLERANCE} + 2 \u00d7 {gap.noise:.3f} sampling error, paired bootstrap of the holdout).",
        )
        for gap in gaps
        if gap.widened
    ]


# -- the whole analysis ---------------------------------------------------------------------
@dataclass(frozen=True)
class Facet:
    """A sensitive column, or the intersection of two: its name and how rows fall into its groups."""

    parts: tuple  # of Grouping

    @property
    def name(self) -> str:
        return SEPARATOR.join(str(p.column) for p in self.parts)

    @property
    def order(self) -> tuple:
        return self.parts[0].names if len(self.parts) == 1 else ()

    def assign(self, df: pd.DataFrame) -> np.ndarray:
        labels = [p.assign(df[p.column]) for p in self.parts]
        if len(labels) == 1:
            return labels[0]
        return np.array([SEPARATOR.join(names) for names in zip(*labels)], dtype=object)


def groupings(tables: Tables, names: list) -> tuple[list, list]:
    """A Grouping per sensitive column, leaving out (with a note) those with a single group."""
    out, notes = [], []
    for name in names:
        gr = grouping(name, tables.real[name], tables.schema[name].kind)
        values = pd.unique(gr.assign(tables.real[name]))
        if len(values) < 2:
            notes.append(
                f"Sensitive column {name!r} holds a single value ({values[0]!r}) in the real table: "
                "no groups to compare; left out."
            )
        else:
            out.append(gr)
            if gr.uppers:
                notes.append(f"Groups of {gr.describe()}.")
    return out, notes


def _skip_reasons(tables: Tables, goal: Target | None) -> tuple[str | None, str | None]:
    """Why the outcome part, and why the downstream part, cannot run (None when they can)."""
    if goal is None:
        why = "Outcome association and downstream fairness skipped: no target column was given."
        return why, why
    if goal.task != "classification":
        why = f"Outcome association and downstream fairness skipped: target {goal.name!r} is a regression target."
        return why, why
    if tables.holdout is None:
        return None, "Downstream fairness skipped: no holdout was given (real rows the generator never saw)."
    if not feature_spec(tables.schema, goal.name).columns:
        return None, f"Downstream fairness skipped: no columns besides the target {goal.name!r} to predict it from."
    return None, None


def outcomes(tables: Tables, goal: Target, facets: list, orders: list) -> list:
    known_r, hit_r = positives(tables.real, goal)
    known_s, hit_s = positives(tables.synthetic, goal)
    return [
        outcome_gap(f.name, f.assign(tables.real)[known_r], hit_r, f.assign(tables.synthetic)[known_s], hit_s, order)
        for f, order in zip(facets, orders)
    ]


def bias(tables: Tables, goal: Target | None, sensitive: list, seed: int = 0) -> BiasResult:
    """Representation, outcome association and downstream fairness of the groups of ``sensitive``.

    ``sensitive`` is a list of column names (a single name is accepted too). Each sensitive
    column and each pair of them is a facet. The positive class is
    ``goal.minority`` (the rarest class unless the caller chose one); with more than two
    classes it is that class against all others (one-vs-rest), so each group has one rate and
    the other classes are not analysed.
    """
    found, notes = groupings(tables, check_sensitive(tables, sensitive, goal))
    facets = [Facet((g,)) for g in found] + [Facet(pair) for pair in itertools.combinations(found, 2)]
    reps = [representation(f.name, f.assign(tables.real), f.assign(tables.synthetic), f.order) for f in facets]
    orders = [[g.group for g in rep.groups] for rep in reps]
    flags = representation_flags(reps)
    small = sum(g.status == "too small to judge" for r in reps for g in r.groups)
    if small:
        notes.append(
            f"{small} group(s) have fewer than {MIN_GROUP_ROWS} real rows or expected synthetic rows: "
            "their shares are shown but not judged."
        )
    gaps, odds = [], []
    why_outcome, why_downstream = _skip_reasons(tables, goal) if facets else (None, None)
    if facets and why_outcome is None:
        gaps = outcomes(tables, goal, facets, orders)
        flags += outcome_flags(gaps, goal)
        if any(x.real_rate is None or x.synthetic_rate is None for gap in gaps for x in gap.rates):
            notes.append(
                f"Rates of groups with fewer than {MIN_GROUP_ROWS} rows in a table are n/a: too small to estimate."
            )
    if facets and why_downstream is None:
        odds = downstream(tables, goal, facets, orders, seed)
        flags += downstream_flags(odds)
    notes += [why for why in (why_outcome, why_downstream) if why]
    return BiasResult(
        sensitive=tuple(str(g.column) for g in found),
        groupings=tuple(found),
        representation=tuple(reps),
        outcomes=tuple(gaps),
        downstream=tuple(odds),
        flags=tuple(flags),
        target=None if goal is None else goal.name,
        positive=None if goal is None or goal.task != "classification" else goal.minority,
        notes=tuple(dict.fromkeys(notes)),
    )
