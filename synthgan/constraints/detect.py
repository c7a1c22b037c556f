"""Propose the constraints a table obeys; the user accepts them explicitly.

``detect(df)`` looks at pairs of columns (and triples for sums), never at all subsets, and
proposes only rules that would be surprising if the columns were independent, so a table
of independent columns gets no proposal:

- **inequality** ``a <= b`` (or ``<``) between numbers, or between datetimes of one
  tz-awareness, holding on every row where both are present. Under independence a row
  breaks it with probability ``p = P(A > B)`` (from the two marginals); it is proposed only
  when ``(1 - p) ** support < alpha``. ``p == 0`` (ranges that do not overlap, e.g. age and
  income) makes it trivial: skipped. Columns with fewer than 3 distinct values (flags) and
  identical columns are skipped; ``a <= c`` is dropped when ``a <= b <= c`` is proposed,
  and ``part <= total`` when a proposed sum with non-negative other parts implies it.
- **fixed combinations** among discrete columns (text, booleans, categories, integers with
  at most ``max_cardinality`` values), pairwise: proposed when the seen combinations are at
  most ``COMBINATION_SHARE`` of the product of the cardinalities, each seen one has at least
  ``min_rows_per_combination`` rows, and the unseen ones would be expected on more than
  ``-log(alpha)`` rows under independence. Pairs that share columns are merged into one
  group when the group passes the same test.
- **one-hot groups**: 0/1 columns with no missing values, greedily grouped (in column
  order) into sets of mutually exclusive columns whose sum is 1 on every row.
- **sums**: a column equal to the sum of two (or three) others on every row where all are
  present (floats within a relative ``1e-9``), constant columns excluded.

Every proposal is checked against its built-in constraint's exact ``is_valid`` on all rows
and needs ``min_support`` rows checked. Work caps: at most ``max_columns`` columns of each
kind are examined (the first ones), sums of three only among the first
``max_sum3_columns`` numeric columns, and candidate sums are screened on
``SCREEN_ROWS`` rows before the full check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthgan.constraints._values import DATETIME, FLOAT, INT, as_numbers, number_kind
from synthgan.constraints.arithmetic import Sum
from synthgan.constraints.base import Constraint
from synthgan.constraints.errors import ConstraintError
from synthgan.constraints.discrete import FixedCombinations, OneHot
from synthgan.constraints.order import Inequality
from synthgan.errors import ConfigError

COMBINATION_SHARE = 0.5
SCREEN_ROWS = 256
SUM_RTOL = 1e-9
KINDS = ("one_hot", "fixed_combinations", "inequality", "sum")


@dataclass(frozen=True)
class Proposal:
    """A rule ``detect`` found: ``constraint`` is the built-in to pass to a synthesizer if the
    user accepts it; ``support`` is the number of rows it was checked on."""

    kind: str
    columns: tuple
    support: int
    constraint: Constraint = field(compare=False)

    def __str__(self) -> str:
        return f"{self.kind}: {self.constraint.rule} (holds on all {self.support} rows checked)"


def detect(
    df: pd.DataFrame,
    min_support: int = 50,
    *,
    alpha: float = 1e-6,
    max_cardinality: int = 20,
    min_rows_per_combination: int = 5,
    max_columns: int = 60,
    max_sum3_columns: int = 20,
) -> list[Proposal]:
    """Propose constraints ``df`` obeys (see the module notes for each kind and the caps).

    Returns a list of :class:`Proposal`, one-hot groups first, then fixed combinations,
    inequalities and sums, each in column order. Raises ConfigError for a non-DataFrame or
    bad options.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"detect: expected a pandas DataFrame, got {type(df).__name__}")
    if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)) or min_support < 1:
        raise ConfigError(f"detect: min_support must be a positive integer, got {min_support!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"detect: alpha must be in (0, 1), got {alpha!r}")
    if df.columns.duplicated().any():
        raise ConfigError("detect: the table has duplicate column names; rename them first")
    one_hot = _one_hot(df, min_support, max_columns)
    in_groups = [set(p.columns) for p in one_hot]
    combos = _combinations(df, min_support, alpha, max_cardinality, min_rows_per_combination, max_columns, in_groups)
    sums = _sums(df, min_support, max_columns, max_sum3_columns)
    inequalities = _inequalities(df, min_support, alpha, max_columns, sums)
    return [p for p in one_hot + combos + inequalities + sums if _holds(p.constraint, df)]


def _holds(constraint: Constraint, df: pd.DataFrame) -> bool:
    """The built-in's own exact check (a fixed combination holds by construction)."""
    try:
        constraint.validate(df)
    except ConstraintError:
        return False
    return True


# -- one-hot ------------------------------------------------------------------------------
def _one_hot(df: pd.DataFrame, min_support: int, max_columns: int) -> list[Proposal]:
    if len(df) < min_support:
        return []
    names, flags = [], []
    for c in df.columns:
        s = df[c]
        if not (pd.api.types.is_bool_dtype(s) or number_kind(s) in (INT, FLOAT)) or s.isna().any():
            continue
        values = s.to_numpy(dtype="float64")
        if np.isin(values, (0.0, 1.0)).all() and 0 < values.sum() < len(values):
            names.append(c)
            flags.append(values == 1.0)
        if len(names) >= max_columns:
            break
    if len(names) < 2:
        return []
    b = np.column_stack(flags).astype("float64")
    overlap = b.T @ b
    used, out = set(), []
    for i in range(len(names)):
        if i in used:
            continue
        group, cover = [i], b[:, i] > 0
        for j in range(i + 1, len(names)):
            if j not in used and not overlap[j, group].any():
                group.append(j)
                cover |= b[:, j] > 0
                if cover.all():
                    break
        if cover.all() and len(group) >= 2:
            used.update(group)
            cols = tuple(names[g] for g in group)
            out.append(Proposal("one_hot", cols, len(df), OneHot(list(cols))))
    return out


# -- fixed combinations -------------------------------------------------------------------
def _discrete_codes(df: pd.DataFrame, max_cardinality: int, max_columns: int) -> dict:
    out = {}
    for c in df.columns:
        s = df[c]
        kind = number_kind(s)
        if kind in (FLOAT, DATETIME):
            continue
        codes, uniques = pd.factorize(s, use_na_sentinel=False)
        if 2 <= len(uniques) <= max_cardinality:
            out[c] = (codes.astype("int64"), len(uniques))
        if len(out) >= max_columns:
            break
    return out


def _combination_test(codes: list, sizes: list, alpha: float, min_rows: int) -> bool:
    n = len(codes[0])
    key = np.zeros(n, dtype="int64")
    for code, size in zip(codes, sizes):
        key = key * size + code
    product = math.prod(sizes)
    counts = np.bincount(key, minlength=product)
    seen = counts > 0
    if seen.sum() > COMBINATION_SHARE * product or counts[seen].min() < min_rows:
        return False
    expected = np.ones(1)
    for code, size in zip(codes, sizes):
        expected = np.multiply.outer(expected, np.bincount(code, minlength=size) / n).reshape(-1)
    return bool(n * expected[~seen].sum() > -math.log(alpha))


def _combinations(df, min_support, alpha, max_cardinality, min_rows, max_columns, in_groups) -> list[Proposal]:
    if len(df) < min_support:
        return []
    codes = _discrete_codes(df, max_cardinality, max_columns)
    names = list(codes)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if any({a, b} <= g for g in in_groups):
                continue
            if _combination_test([codes[a][0], codes[b][0]], [codes[a][1], codes[b][1]], alpha, min_rows):
                pairs.append((a, b))
    # merge pairs sharing columns into groups when the group passes the same test
    parent = {c: c for pair in pairs for c in pair}

    def root(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups = {}
    for c in names:
        if c in parent:
            groups.setdefault(root(c), []).append(c)
    out = []
    for members in groups.values():
        chosen = [tuple(members)] if len(members) > 2 and _combination_test(
            [codes[c][0] for c in members], [codes[c][1] for c in members], alpha, min_rows
        ) else [p for p in pairs if p[0] in members]
        for cols in chosen:
            out.append(Proposal("fixed_combinations", cols, len(df), FixedCombinations(list(cols))))
    order = {c: i for i, c in enumerate(df.columns)}
    return sorted(out, key=lambda p: [order[c] for c in p.columns])


# -- inequalities -------------------------------------------------------------------------
def _ordered_groups(df: pd.DataFrame, max_columns: int) -> list[list]:
    numbers, naive, aware = [], [], []
    for c in df.columns:
        kind = number_kind(df[c])
        if kind is None or df[c].nunique() < 3:
            continue
        if kind == DATETIME:
            (aware if getattr(df[c].dt, "tz", None) is not None else naive).append(c)
        else:
            numbers.append(c)
    return [g[:max_columns] for g in (numbers, naive, aware) if len(g) >= 2]


def _break_probability(a: np.ndarray, b: np.ndarray) -> float:
    """P(A > B) for A, B drawn independently from the two samples."""
    b_sorted = np.sort(b)
    return float(np.searchsorted(b_sorted, a, side="left").sum()) / (len(a) * len(b))


def _inequalities(df, min_support, alpha, max_columns, sums) -> list[Proposal]:
    found = {}
    for group in _ordered_groups(df, max_columns):
        values, present = {}, {}
        for c in group:
            kind = number_kind(df[c])
            v, p = as_numbers(df[c], kind)
            values[c], present[c] = v.astype("float64"), p
        x = np.column_stack([np.where(present[c], values[c], np.nan) for c in group])
        with np.errstate(invalid="ignore"):
            for i, a in enumerate(group):
                holds = ~(x[:, [i]] > x).any(axis=0)
                for j in np.flatnonzero(holds):
                    b = group[j]
                    if i == j:
                        continue
                    both = present[a] & present[b]
                    support = int(both.sum())
                    if support < min_support:
                        continue
                    va, vb = values[a][both], values[b][both]
                    if np.array_equal(va, vb):
                        continue  # identical columns: an equality, not an order
                    p = _break_probability(values[a][present[a]], values[b][present[b]])
                    if p == 0 or support * math.log1p(-p) >= math.log(alpha):
                        continue
                    found[(a, b)] = (support, bool((va < vb).all()))
    implied = {(a, c) for (a, b) in found for (b2, c) in found if b == b2 and (a, c) in found}
    for s in sums:
        total, parts = s.columns[-1], s.columns[:-1]
        for part in parts:
            others = [q for q in parts if q != part]
            if all(np.nanmin(df[q].to_numpy(dtype="float64", na_value=np.nan)) >= 0 for q in others):
                implied.add((part, total))
    order = {c: i for i, c in enumerate(df.columns)}
    out = [
        Proposal("inequality", (a, b), support, Inequality(a, b, strict=strict))
        for (a, b), (support, strict) in found.items() if (a, b) not in implied
    ]
    return sorted(out, key=lambda p: (order[p.columns[0]], order[p.columns[1]]))


# -- sums ---------------------------------------------------------------------------------
def _sums(df, min_support, max_columns, max_sum3_columns) -> list[Proposal]:
    names = [c for c in df.columns if number_kind(df[c]) in (INT, FLOAT) and df[c].nunique() > 1][:max_columns]
    if len(names) < 3:
        return []
    x = np.column_stack([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in names])
    screen = x[:SCREEN_ROWS]
    k = len(names)

    def holds(rows: np.ndarray, t: int, parts: tuple, candidates: np.ndarray) -> np.ndarray:
        """Which candidate columns c make rows[:, t] == sum(parts) + rows[:, c] (or a missing value)."""
        rest = rows[:, t] - rows[:, list(parts)].sum(axis=1)
        scale = np.abs(rows[:, [t, *parts]]).sum(axis=1)[:, None] + np.abs(rows[:, candidates])
        with np.errstate(invalid="ignore"):
            bad = np.abs(rest[:, None] - rows[:, candidates]) > SUM_RTOL * np.maximum(1.0, scale)
        return ~bad.any(axis=0)

    found = []
    for size in (1, 2):
        limit = k if size == 1 else min(k, max_sum3_columns)
        for t in range(limit):
            others = [i for i in range(limit) if i != t]
            for first in (others if size == 1 else []):
                cand = np.array([c for c in others if c > first])
                if len(cand):
                    found += [(t, (first, int(c))) for c in cand[holds(screen, t, (first,), cand)]]
            if size == 2:
                for ai, a in enumerate(others):
                    for b in others[ai + 1:]:
                        cand = np.array([c for c in others if c > b])
                        if len(cand):
                            found += [(t, (a, b, int(c))) for c in cand[holds(screen, t, (a, b), cand)]]
    pairs = {(t, frozenset(p)) for t, p in found if len(p) == 2}
    out = []
    for t, parts in found:
        cols = [t, *parts]
        complete = ~np.isnan(x[:, cols]).any(axis=1)
        support = int(complete.sum())
        if support < min_support or not holds(x, t, parts[:-1], np.array([parts[-1]]))[0]:
            continue
        if len(parts) == 3 and _composed(t, parts, pairs):
            continue
        constraint = Sum([names[p] for p in parts], names[t])
        out.append(Proposal("sum", (*[names[p] for p in parts], names[t]), support, constraint))
    return out


def _composed(t: int, parts: tuple, pairs: set) -> bool:
    """True when t = a + b + c follows from two proposed pairs (t = s + z and s = x + y)."""
    for z in parts:
        for t2, pair in pairs:
            if t2 != t or z not in pair:
                continue
            s = next(iter(pair - {z}), None)
            if s is not None and (s, frozenset(set(parts) - {z})) in pairs:
                return True
    return False
