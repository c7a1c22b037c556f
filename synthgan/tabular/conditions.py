"""Sampling conditions: which the conditional vector can express, and a row filter for all.

``{"FraudFound_P": 1}`` (a discrete value), ``{"sex": ["Male", "Female"]}`` (any of),
``{"age": (30, 40)}`` (an inclusive numeric range; ``None`` leaves a side open). One
discrete equality is fed to the generator natively; every condition is then checked on
the decoded rows (bounded rejection sampling).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.errors import ConditionError
from synthgan.forms import Form, to_canonical
from synthgan.schema import DISCRETE_KINDS, ColumnKind
from synthgan.tabular.encoders import CategoricalEncoder
from synthgan.tabular.transformer import TableTransformer


@dataclass(frozen=True)
class Condition:
    column: str
    values: tuple | None = None  # discrete: accepted values
    low: float | None = None  # numeric range, inclusive
    high: float | None = None
    form: Form | None = None  # how the column carries its values (date objects, ISO text...)

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        col = to_canonical(df[self.column], self.form, self.column)
        if self.values is not None:
            accepted = pd.Series(self.values, dtype=object)
            keep = col.astype(object).isin(accepted).to_numpy()
            if accepted.isna().any():
                keep |= col.isna().to_numpy()
            return keep
        keep = col.notna().to_numpy()
        if self.low is not None:
            keep &= (col >= self.low).fillna(False).to_numpy(dtype=bool)
        if self.high is not None:
            keep &= (col <= self.high).fillna(False).to_numpy(dtype=bool)
        return keep


def _normal(value) -> str:
    """What a value and a category are compared by when they are not equal: their text,
    Unicode-normalised (NFC), stripped and case-folded, on both sides (so CLI text ``1`` finds the number 1 and
    ``male`` finds ``' Male'``)."""
    return unicodedata.normalize("NFC", str(value)).strip().casefold()


def _match(value, categories: list, column: str) -> object:
    """The training category equal to ``value``; else the one category whose normalised text
    equals the value's (see :func:`_normal`). An exact match always wins; two categories that
    normalise alike (``'Male'`` and ``' Male'``) make a non-exact value ambiguous: a
    ``ConditionError`` names them. ``KeyError`` when nothing matches."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    for cat in categories:
        if isinstance(cat, bool) == isinstance(value, (bool, np.bool_)) and cat == value:
            return cat  # exact match; True is not taken for 1
    text = _normal(value)
    found = [cat for cat in categories if not (isinstance(cat, float) and np.isnan(cat)) and _normal(cat) == text]
    if len(found) > 1:
        raise ConditionError(
            f"value {value!r} for column {column!r} matches several categories once spaces and case are "
            f"ignored ({', '.join(repr(c) for c in found)}); give one of them exactly"
        )
    if found:
        return found[0]
    raise KeyError(value)


def parse_conditions(conditions: dict, transformer: TableTransformer) -> list[Condition]:
    if not isinstance(conditions, dict) or not conditions:
        raise ConditionError("conditions must be a non-empty dict {column: value}")
    schema = transformer.schema
    out = []
    for name, wanted in conditions.items():
        if name not in schema.names:
            raise ConditionError(f"condition on unknown column {name!r}; columns are {schema.names}")
        col = schema[name]
        if col.kind is ColumnKind.ID:
            raise ConditionError(f"column {name!r} is an identifier (generated fresh); it cannot be a condition")
        enc = transformer.encoders[name]
        if col.kind in DISCRETE_KINDS:
            assert isinstance(enc, CategoricalEncoder)
            wanted_all = list(wanted) if isinstance(wanted, (list, set, tuple)) else [wanted]
            known = enc.categories + ([np.nan] if enc.has_missing else [])
            matched = []
            for value in wanted_all:
                try:
                    matched.append(_match(value, known, name))
                except KeyError:
                    shown = ", ".join(repr(c) for c in enc.categories[:10])
                    more = " ..." if len(enc.categories) > 10 else ""
                    raise ConditionError(
                        f"value {value!r} was never seen in column {name!r} during fit; "
                        f"seen values: {shown}{more}"
                    ) from None
            out.append(Condition(name, values=tuple(matched), form=col.form))
            continue
        what = f"range {wanted!r}"
        if isinstance(wanted, (tuple, list)) and len(wanted) == 2:
            low, high = wanted
        elif isinstance(wanted, (int, float)) and col.kind is ColumnKind.INTEGER:
            low = high = wanted
            what = f"value {wanted!r}"
        else:
            raise ConditionError(
                f"condition on numeric column {name!r} must be a (low, high) range, got {wanted!r}"
            )
        if col.kind is ColumnKind.DATETIME:
            try:
                low, high = (None if v is None else pd.Timestamp(v) for v in (low, high))
            except (ValueError, TypeError) as exc:
                raise ConditionError(
                    f"range {wanted!r} on datetime column {name!r}: bounds must be dates ({exc})"
                ) from None
            if col.timezone is not None:
                low, high = (v if v is None or v.tz else v.tz_localize(col.timezone) for v in (low, high))
        elif any(
            v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or np.isnan(v))
            for v in (low, high)
        ):
            raise ConditionError(
                f"range {wanted!r} on numeric column {name!r}: bounds must be numbers or None"
            )
        if low is not None and high is not None and low > high:
            raise ConditionError(f"range {wanted!r} on column {name!r} is empty: low > high")
        # observed bounds, in the column's own units (datetimes are stored as nanoseconds)
        seen_low, seen_high = enc.low, enc.high
        as_number = (lambda v: v.value) if col.kind is ColumnKind.DATETIME else (lambda v: v)  # noqa: E731
        if (low is not None and as_number(low) > seen_high) or (high is not None and as_number(high) < seen_low):
            shown = (
                f"[{pd.Timestamp(int(seen_low))}, {pd.Timestamp(int(seen_high))}] (UTC)"
                if col.kind is ColumnKind.DATETIME
                else f"[{seen_low:g}, {seen_high:g}]"
            )
            raise ConditionError(
                f"{what} on column {name!r} lies outside the observed range "
                f"{shown}; no row can satisfy it"
            )
        out.append(Condition(name, low=low, high=high, form=col.form))
    return out


def category_index(encoder, value) -> int:
    """The one-hot position of a condition value ``parse_conditions`` accepted (missing: the
    slot after the categories)."""
    missing = value is np.nan or (isinstance(value, float) and np.isnan(value))
    return len(encoder.categories) if missing else encoder.categories.index(value)


def native_condition(conditions: list[Condition], transformer: TableTransformer) -> tuple[str, int] | None:
    """The discrete equality to feed the generator: the rarest, since it helps most."""
    best = None
    for cond in conditions:
        if cond.values is None or len(cond.values) != 1 or cond.column not in transformer.encoders:
            continue  # a column the model does not hold (rebuilt by a constraint) is met by rejection
        enc = transformer.encoders[cond.column]
        index = category_index(enc, cond.values[0])
        freq = enc.frequencies[index] / max(sum(enc.frequencies), 1)
        if best is None or freq < best[2]:
            best = (cond.column, index, freq)
    return None if best is None else best[:2]
