"""Column checks: is each synthetic column usable at all, next to its real counterpart?

sdmetrics scores a column's shape and skips what it cannot score: a synthetic column that is
entirely missing gets no score and drops out of the average, so a table with a dead column
can score higher than a clean one. These checks name every such column and say what is
wrong, so the fidelity verdict and score can count it:

- unusable (verdict "poor", shape score 0): all missing, a single value where the real
  column varies, values of another type (numbers held as text, text in a numeric column,
  numbers in a date column), or at least half the values far outside the real range or in
  categories the real column never had;
- suspicious (verdict at most "fair"): values far outside the real range, categories the
  real column never had, fractions in an integer column, a missing rate far from the real
  one.

"All missing" and "a single value" are only called when a sample of the synthetic size drawn
from the real column would look like that with probability below :data:`CHANCE`, so a rare
real category or a sparse real column does not trip them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.evaluation.features import MISSING, category_text
from synthgan.evaluation.marginals import as_numbers
from synthgan.schema import DISCRETE_KINDS, NUMERIC_KINDS, ColumnKind, Schema

ALL_MISSING, CONSTANT, WRONG_TYPE = "all missing", "constant", "wrong type"
OUT_OF_RANGE, UNSEEN, FRACTIONS, MISSING_RATE = "out of range", "unseen categories", "fractions", "missing rate"
#: problems that make a column unusable: verdict "poor" and a shape score of 0
UNUSABLE = (ALL_MISSING, CONSTANT, WRONG_TYPE)
#: a real column "could" give an all-missing or single-valued sample of the synthetic size when
#: that happens with at least this probability; below it the synthetic column is flagged
CHANCE = 1e-3
#: a value is "far" outside the real range beyond this fraction of the range's width
FAR_MARGIN = 0.10
#: share of synthetic values far outside the real range (or in unseen categories) tolerated
OUT_OF_RANGE_SHARE = 0.01
#: a missing rate may differ from the real one by this much, plus three standard errors
MISSING_TOLERANCE = 0.05
#: a share of rows out of range (or in unseen categories) at which a column is unusable: "poor"
MOSTLY_WRONG = 0.5
#: distinct offending values quoted in a message
EXAMPLES = 3


@dataclass(frozen=True)
class ColumnProblem:
    """Something wrong with one synthetic column: ``kind`` (one of the constants above), the
    share of its synthetic rows affected, and a sentence that names the column."""

    column: str
    kind: str
    share: float
    message: str

    @property
    def unusable(self) -> bool:
        # most values out of the real range or in categories the real column never had: as
        # unusable as a column of the wrong type
        return self.kind in UNUSABLE or (self.kind in (OUT_OF_RANGE, UNSEEN) and self.share >= MOSTLY_WRONG)


def show(value) -> str:
    """A value as a reader writes it: text quoted, numbers and dates plain (no ``np.float64(...)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _examples(values) -> str:
    shown = list(dict.fromkeys(show(v) for v in values))[:EXAMPLES]
    return ", ".join(shown)


# -- types ----------------------------------------------------------------------------------
def _as_numbers(values: pd.Series) -> pd.Series:
    """Numbers (True and False as 1 and 0); anything that does not read as a number becomes NaN."""
    return pd.to_numeric(values.astype(object), errors="coerce").astype("float64")


def _as_datetimes(values: pd.Series, like: pd.Series) -> pd.Series:
    """Datetimes in the real column's time zone (or naive); numbers are not read as dates."""
    tz = like.dt.tz
    text = values.map(lambda v: np.nan if isinstance(v, (bool, np.bool_, int, float, np.number)) else v)
    out = pd.to_datetime(text.astype(object), errors="coerce", utc=True, format="mixed")
    return out.dt.tz_convert(tz) if tz is not None else out.dt.tz_localize(None)


_TRUE, _FALSE = {"true", "1", "yes", "t", "y"}, {"false", "0", "no", "f", "n"}


def _as_booleans(values: pd.Series) -> pd.Series:
    def read(v):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        text = category_text(v).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None

    return values.map(read).astype(object)


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype(object).map(lambda v: None if category_text(v) == MISSING else category_text(v))


def coerce_column(real: pd.Series, synthetic: pd.Series, real_family: str) -> tuple[pd.Series, pd.Series]:
    """``synthetic`` read as the real column's family; also the mask of known values it could not read."""
    known = synthetic.notna()
    if real_family == "number":
        out = _as_numbers(synthetic)
    elif real_family == "datetime":
        out = _as_datetimes(synthetic, real)
    elif real_family == "boolean":
        out = _as_booleans(synthetic)
    else:
        out = _as_text(synthetic)
    return out, known & out.isna()


def wrong_type(column, real: pd.Series, synthetic: pd.Series, real_family: str, synthetic_family: str):
    """(the synthetic column converted to the real family, the :class:`ColumnProblem` saying so)."""
    converted, unreadable = coerce_column(real, synthetic, real_family)
    n_known = int(synthetic.notna().sum())
    bad = int(unreadable.sum())
    read = f"{n_known - bad} of {n_known} known values read as {real_family}"
    if bad:
        read += f"; the rest ({_examples(synthetic[unreadable])}) are counted as missing"
    message = (
        f"Column {column!r} is unusable: the synthetic table holds {synthetic_family} values ({synthetic.dtype}) "
        f"where the real one holds {real_family} values ({real.dtype}), e.g. {_examples(synthetic.dropna())}. "
        f"It is compared after conversion ({read}); fix the generator or convert the column."
    )
    return converted, ColumnProblem(str(column), WRONG_TYPE, 1.0, message)


# -- values ---------------------------------------------------------------------------------
def _all_missing(column, real: pd.Series, synthetic: pd.Series) -> ColumnProblem | None:
    n = len(synthetic)
    if n == 0 or synthetic.notna().any() or real.notna().sum() == 0:
        return None
    rate = float(real.isna().mean())
    if rate > 0 and n * math.log(rate) >= math.log(CHANCE):
        return None
    return ColumnProblem(
        str(column),
        ALL_MISSING,
        1.0,
        f"Column {column!r} is unusable: all {n} synthetic values are missing, against {rate:.1%} of the real ones.",
    )


def _constant(column, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> ColumnProblem | None:
    r, s = _keys(real, kind), _keys(synthetic, kind)
    if len(s) < 2 or s.nunique() != 1 or r.nunique() < 2:
        return None
    top = float(r.value_counts(normalize=True).iloc[0])
    if len(s) * math.log(top) >= math.log(CHANCE):
        return None
    value = synthetic.dropna().iloc[0]
    return ColumnProblem(
        str(column),
        CONSTANT,
        1.0,
        f"Column {column!r} is unusable: every synthetic value is {show(value)}, while the real column has "
        f"{r.nunique()} distinct values (its most common covers {top:.1%} of rows).",
    )


def _keys(series: pd.Series, kind: ColumnKind) -> pd.Series:
    """Known values as comparable keys: numbers (datetimes as seconds) or category text."""
    if kind in NUMERIC_KINDS:
        values = pd.Series(as_numbers(series))
        return values[values.notna()]
    text = series.astype(object).map(category_text)
    return text[text != MISSING]


def _out_of_range(column, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> ColumnProblem | None:
    r, s = as_numbers(real), as_numbers(synthetic)
    r, keep = r[~np.isnan(r)], ~np.isnan(s)
    s, raw = s[keep], synthetic[keep.tolist()]
    if len(r) < 2 or len(s) == 0 or r.max() == r.min():
        return None
    low, high = float(r.min()), float(r.max())
    margin = FAR_MARGIN * (high - low)
    far = (s < low - margin) | (s > high + margin)
    share = float(far.mean())
    if share <= OUT_OF_RANGE_SHARE:
        return None
    shown = real.dropna()
    return ColumnProblem(
        str(column),
        OUT_OF_RANGE,
        share,
        f"Column {column!r}: {share:.1%} of synthetic values lie far outside the real range "
        f"{show(shown.min())} to {show(shown.max())} (beyond {FAR_MARGIN:.0%} of its width on either side), "
        f"e.g. {_examples(raw[far.tolist()])}; at most {OUT_OF_RANGE_SHARE:.0%} is tolerated.",
    )


def _unseen(column, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> ColumnProblem | None:
    r, s = _keys(real, kind), _keys(synthetic, kind)
    if len(s) == 0 or len(r) == 0:
        return None
    new = ~s.isin(set(r))
    share = float(new.mean())
    if share <= OUT_OF_RANGE_SHARE:
        return None
    return ColumnProblem(
        str(column),
        UNSEEN,
        share,
        f"Column {column!r}: {share:.1%} of synthetic values are categories the real column never has, "
        f"e.g. {_examples(s[new])}; at most {OUT_OF_RANGE_SHARE:.0%} is tolerated.",
    )


def _fractions(column, synthetic: pd.Series) -> ColumnProblem | None:
    s = as_numbers(synthetic)
    s = s[~np.isnan(s)]
    frac = s != np.round(s)
    if not frac.any():
        return None
    share = float(frac.mean())
    return ColumnProblem(
        str(column),
        FRACTIONS,
        share,
        f"Column {column!r} holds whole numbers in the real table, but {share:.1%} of its synthetic values "
        f"have a fractional part, e.g. {_examples(s[frac].tolist())}.",
    )


def _missing_rate(column, real: pd.Series, synthetic: pd.Series) -> ColumnProblem | None:
    n_r, n_s = len(real), len(synthetic)
    p_r, p_s = float(real.isna().mean()), float(synthetic.isna().mean())
    if p_s == 1.0 or n_r == 0 or n_s == 0:
        return None  # all missing is its own problem
    pooled = (p_r * n_r + p_s * n_s) / (n_r + n_s)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n_r + 1 / n_s))
    if abs(p_s - p_r) <= MISSING_TOLERANCE + 3 * error:
        return None
    return ColumnProblem(
        str(column),
        MISSING_RATE,
        abs(p_s - p_r),
        f"Column {column!r}: {p_s:.1%} of synthetic values are missing against {p_r:.1%} of real ones.",
    )


def column_problems(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, skip=()) -> tuple:
    """Every :class:`ColumnProblem` of the synthetic columns, in table order.

    ``skip``: columns already found to be of the wrong type (their values were converted, so
    only their type is reported). Identifier columns are not checked.
    """
    out = []
    for col in schema.columns:
        if col.kind is ColumnKind.ID or str(col.name) in skip:
            continue
        r, s = real[col.name], synthetic[col.name]
        found = _all_missing(col.name, r, s) or _constant(col.name, r, s, col.kind)
        if found is None:
            checks = [_missing_rate(col.name, r, s)]
            if col.kind in NUMERIC_KINDS:
                checks.append(_out_of_range(col.name, r, s, col.kind))
            if col.kind is ColumnKind.INTEGER:
                checks.append(_fractions(col.name, s))
            if col.kind in DISCRETE_KINDS:
                checks.append(_unseen(col.name, r, s, col.kind))
            out += [c for c in checks if c is not None]
        else:
            out.append(found)
    return tuple(out)
