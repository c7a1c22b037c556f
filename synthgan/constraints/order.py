"""Order between columns (``Inequality``, ``Range``) and within fixed bounds (``ScalarRange``),
for numbers and datetimes (naive or tz-aware).

Reparameterisations (after SDV's ``Inequality`` / ``Range`` / ``ScalarRange`` transforms):

- a chain ``c0 <= c1 <= ... <= ck`` keeps ``c0`` and replaces every ``ci`` by the gap
  ``log1p(ci - c(i-1))``; any value of a gap maps back to a non-negative difference, so the
  order holds whatever the generator produces. Integer and datetime gaps are counted in the
  column's resolution (days, seconds... the coarsest one all training values are multiples
  of); where ``log1p``/``expm1`` would not give the training gaps back exactly (gaps above
  about ``2**50`` units) the gap is kept linear instead. Decoded gaps are clipped to
  ``[0, GAP_CAP_FACTOR * largest training gap]`` so a wild generator value cannot overflow.
- ``ScalarRange`` maps the position inside ``[low, high]`` to ``logit(0.025 + 0.95 p)``;
  any real value maps back inside the bounds. Integer and datetime columns whose positions
  would not round-trip exactly are clipped into the bounds instead (no new column).

Missing values: each pair of neighbouring columns of a chain (``low``/``middle``,
``middle``/``high``) is checked on the rows where both are present; ``ScalarRange`` does
not check missing values. A column ``ci`` present on a row where ``c(i-1)`` is missing cannot be
rebuilt from a gap, so when the training table has such rows ``ci`` is kept under its own
name holding only those values (missing elsewhere); rows rebuilt from it have a missing
``c(i-1)``, so they are valid by the rule above.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synthgan.constraints._values import (
    DATETIME, FLOAT, INT, ColumnType, as_numbers, datetime_unit, from_json_value, number_kind, read_numbers,
    to_json_value,
)
from synthgan.constraints.base import Constraint, unique_name
from synthgan.constraints.errors import ConstraintError
from synthgan.errors import ConfigError
from synthgan.schema import observed_decimals

#: decoded gaps are clipped to this many times the largest training gap
GAP_CAP_FACTOR = 4
#: ScalarRange squeezes positions into [MARGIN, 1 - MARGIN] before the logit
MARGIN = 0.025


def _check_strict(owner: str, strict) -> None:
    if not isinstance(strict, (bool, np.bool_)):
        raise ConfigError(f"{owner}: strict must be True or False, got {strict!r}")


def _kinds(owner: str, df: pd.DataFrame, columns) -> dict:
    """{column: number kind}, all numbers or all datetimes (of one tz-awareness)."""
    kinds, problems = {}, []
    for c in columns:
        kind = number_kind(df[c])
        if kind is None:
            problems.append(f"{owner}: column {c!r} holds {df[c].dtype} values; it needs numbers or datetimes")
        kinds[c] = kind
    if not problems:
        dates = {c for c, k in kinds.items() if k == DATETIME}
        if dates and len(dates) != len(kinds):
            problems.append(f"{owner}: columns {list(columns)} mix datetimes and numbers; they cannot be compared")
        aware = {c for c in dates if getattr(df[c].dt, "tz", None) is not None}
        if aware and len(aware) != len(dates):
            problems.append(
                f"{owner}: columns {sorted(map(str, aware))} have a time zone and "
                f"{sorted(map(str, dates - aware))} do not; localize them to one zone first"
            )
    if problems:
        raise ConstraintError(problems)
    return kinds


_INT64_MAX = np.iinfo("int64").max


def _int_values(series: pd.Series) -> np.ndarray:
    """An integer column's values as int64 (0 where missing), without a float round trip."""
    present = series.notna().to_numpy()
    out = np.zeros(len(series), dtype="int64")
    out[present] = series[present].to_numpy(dtype="int64")
    return out


def _float_to_int(x: np.ndarray, cap: int) -> np.ndarray:
    """Non-negative floats -> int64, at most ``cap`` (no overflow near 2**63)."""
    big = x >= float(cap)
    out = np.full(len(x), cap, dtype="int64")
    out[~big] = x[~big].astype("int64")
    return out


def _snap_ceil(values: np.ndarray) -> np.ndarray:
    """Ceil, after snapping values within float fuzz of an integer onto it."""
    r = np.round(values)
    close = np.abs(values - r) <= 1e-9 * np.maximum(1.0, np.abs(values))
    return np.ceil(np.where(close, r, values))


def _at_least(values: np.ndarray, bound: np.ndarray, dtype, strict: bool) -> np.ndarray:
    """``values`` cast to float ``dtype``, raised where needed so each is >= (``strict``: >)
    ``bound`` when compared in float64."""
    dtype = np.dtype(dtype)
    out = values.astype(dtype)
    floor = bound.astype(dtype)
    low = (floor.astype("float64") <= bound) if strict else (floor.astype("float64") < bound)
    floor[low] = np.nextafter(floor[low], dtype.type(np.inf))
    return np.where(out.astype("float64") < floor.astype("float64"), floor, out)


class _Chain(Constraint):
    """``chain[0] <= chain[1] <= ...`` (``<`` when strict), reparameterised by gaps."""

    strict: bool

    @property
    def _chain(self) -> tuple:
        raise NotImplementedError

    @property
    def columns(self) -> tuple:
        return self._chain

    @property
    def replaced_columns(self) -> tuple:
        return self._chain[1:]

    @property
    def rule(self) -> str:
        op = " < " if self.strict else " <= "
        return op.join(map(str, self._chain))

    def _check_params(self) -> None:
        _check_strict(self.name, self.strict)
        if len(set(self._chain)) != len(self._chain):
            raise ConfigError(f"{self.name}: the columns must differ, got {list(self._chain)}")

    def _check_table(self, df: pd.DataFrame) -> None:
        super()._check_table(df)
        _kinds(self.name, df, self._chain)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        kinds = _kinds(self.name, df, self._chain)
        ok = np.ones(len(df), dtype=bool)
        prev = None
        for c in self._chain:
            values, present = as_numbers(df[c], kinds[c])
            if prev is not None:
                pv, pp = prev
                both = pp & present
                holds = (pv < values) if self.strict else (pv <= values)
                ok &= ~both | holds
            prev = (values, present)
        return ok

    # -- fit ------------------------------------------------------------------------------
    def _fit(self, df: pd.DataFrame) -> None:
        kinds = _kinds(self.name, df, self._chain)
        self.types_ = {c: ColumnType.of(df[c]) for c in self._chain}
        self.decimals_ = {}
        numbers = {c: as_numbers(df[c], kinds[c]) for c in self._chain}
        for c in self._chain:
            if kinds[c] == FLOAT:
                values, present = numbers[c]
                self.decimals_[c] = observed_decimals(values[present])
        unit = 1
        if all(k == DATETIME for k in kinds.values()):
            unit = datetime_unit(*(v[p] for v, p in numbers.values()))
        taken = set(map(str, df.columns))
        self.links_ = []
        for parent, child in zip(self._chain, self._chain[1:]):
            pv, pp = numbers[parent]
            cv, cp = numbers[child]
            is_float = FLOAT in (kinds[parent], kinds[child])
            name = unique_name(f"{parent}->{child}.gap", taken)
            taken.add(name)
            both = pp & cp
            link = {"name": name, "parent": parent, "child": child, "stash": bool(np.any(~pp & cp)),
                    "float": is_float, "unit": unit, "offset": 0 if is_float else int(self.strict), "mode": "log"}
            x = self._gap_units(pv[both], cv[both], link)
            if is_float:
                link["cap"] = float(GAP_CAP_FACTOR * x.max()) if len(x) else 1.0
            else:  # in units; (cap + offset) * unit must stay inside int64
                largest = int(x.max()) if len(x) else 0
                link["cap"] = min(GAP_CAP_FACTOR * largest + 1, _INT64_MAX // unit - 1)
                back = np.round(np.expm1(np.log1p(x.astype("float64"))))
                if not np.array_equal(back.astype("int64"), x) or (len(x) and x.max() > 2**52):
                    link["mode"] = "linear"
            self.links_.append(link)
        self.kinds_ = {
            link["name"]: "continuous" if link["mode"] == "log" else "integer" for link in self.links_
        }

    @staticmethod
    def _gap_units(parent: np.ndarray, child: np.ndarray, link: dict) -> np.ndarray:
        if link["float"]:
            return child.astype("float64") - parent.astype("float64")
        return (child - parent) // link["unit"] - link["offset"]

    # -- transform ------------------------------------------------------------------------
    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        kinds = {c: self.types_[c].kind for c in self._chain}
        numbers = {c: read_numbers(df[c], kinds[c]) for c in self._chain}
        for link in self.links_:
            pv, pp = numbers[link["parent"]]
            cv, cp = numbers[link["child"]]
            both = pp & cp
            x = self._gap_units(pv, cv, link)
            if link["mode"] == "log":
                gap = pd.Series(np.where(both, np.log1p(np.where(both, x, 0)), np.nan), index=df.index)
            else:
                gap = pd.Series(pd.array(np.where(both, x, 0), dtype="Int64"), index=df.index)
                gap[~both] = pd.NA
                if both.all():
                    gap = gap.astype("int64")
            df[link["name"]] = gap
        for link in self.links_:
            child = link["child"]
            if link["stash"]:
                cv, cp = numbers[child]
                keep = cp & ~numbers[link["parent"]][1]
                df[child] = self.types_[child].restore_numbers(cv, keep, df.index, child)
            else:
                df = df.drop(columns=[child])
        return df

    def _decode(self, gap: pd.Series, link: dict) -> tuple[np.ndarray, np.ndarray]:
        """Generated gap column -> (non-negative gaps in number space, present)."""
        cap = link["cap"]
        present = gap.notna().to_numpy()
        if link["mode"] == "linear" and pd.api.types.is_integer_dtype(gap.dtype):
            x = np.clip(_int_values(gap), 0, cap)
            return (x + link["offset"]) * link["unit"], present
        values = np.where(present, gap.to_numpy(dtype="float64", na_value=np.nan), 0.0)
        if link["mode"] == "log":
            x = np.expm1(np.clip(values, 0.0, math.log1p(cap)))
        else:
            x = np.clip(values, 0.0, float(cap))
        if link["float"]:
            return x, present
        return (_float_to_int(np.round(x), cap) + link["offset"]) * link["unit"], present

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        for link in self.links_:
            parent, child = link["parent"], link["child"]
            ptype, ctype = self.types_[parent], self.types_[child]
            pv, pp = read_numbers(df[parent], FLOAT if link["float"] else ptype.kind)
            g, gp = self._decode(df[link["name"]], link)
            rebuilt = pp & gp
            if link["stash"] and child in df.columns:
                sv, sp = read_numbers(df[child], ctype.kind)
            else:
                sv, sp = np.zeros(len(df), dtype="float64" if ctype.kind == FLOAT else "int64"), np.zeros(len(df), bool)
            stash = ~pp & sp
            if not link["float"]:
                headroom = np.where(pv > 0, _INT64_MAX - np.maximum(pv, 0), _INT64_MAX)
                v = pv + np.minimum(g, headroom)
                if ctype.kind == INT:
                    dtype = ctype.pandas_dtype
                    v = np.minimum(v, np.iinfo(getattr(dtype, "numpy_dtype", dtype)).max)
                values = np.where(rebuilt, v, sv)
            else:
                v = pv + g
                if ctype.kind == FLOAT:
                    d = self.decimals_.get(child)
                    if d is not None:
                        v = np.round(v, d)
                    v = _at_least(v, pv, ctype.pandas_dtype, self.strict)
                    values = np.where(rebuilt, v.astype("float64"), sv)
                else:  # an integer child above a float parent
                    v = _snap_ceil(np.maximum(v, pv))
                    if self.strict:
                        v = np.maximum(v, np.floor(pv) + 1)
                    values = np.where(rebuilt, np.where(rebuilt, v, 0).astype("int64"), sv)
            df[child] = ctype.restore_numbers(values, rebuilt | stash, df.index, child)
            df = df.drop(columns=[link["name"]])
        return df

    # -- JSON -----------------------------------------------------------------------------
    def _state_to_json(self) -> dict:
        return {
            "types": [[c, self.types_[c].to_json()] for c in self._chain],
            "decimals": [[c, d] for c, d in self.decimals_.items()],
            "links": self.links_,
        }

    def _state_from_json(self, state: dict) -> None:
        self.types_ = {c: ColumnType.from_json(t) for c, t in state["types"]}
        self.decimals_ = {c: d for c, d in state["decimals"]}
        self.links_ = [dict(link) for link in state["links"]]
        if [c for c in self._chain] != list(self.types_):
            raise ValueError("constraint columns and saved types differ")
        self.kinds_ = {
            link["name"]: "continuous" if link["mode"] == "log" else "integer" for link in self.links_
        }


class Inequality(_Chain):
    """Every row has ``low <= high`` (``low < high`` when ``strict``): numbers or datetimes
    (naive or tz-aware; ``low`` and ``high`` may be in different zones).

    Transform: ``high`` -> the column ``"{low}->{high}.gap"`` holding ``log1p(high - low)``
    (see the module notes). Rows with a missing ``low`` or ``high`` are not checked.
    Transformed training data reverses exactly (integers and datetimes bit for bit).

    Raises ConstraintError (``validate``/``fit``) when a row breaks it, a column is missing, or
    the columns are not numbers/datetimes of one kind; ConfigError for bad parameters.

    Example: ``Inequality("admitted", "discharged")``.
    """

    def __init__(self, low, high, strict: bool = False):
        self.low = low
        self.high = high
        self.strict = strict

    @property
    def _chain(self) -> tuple:
        return (self.low, self.high)

    def params(self) -> dict:
        return {"low": self.low, "high": self.high, "strict": self.strict}


class Range(_Chain):
    """Every row has ``low <= middle <= high`` (``<`` when ``strict``).

    Transform: two gaps, ``middle - low`` and ``high - middle`` (see :class:`Inequality`).
    Each neighbouring pair is checked where both are present (``low``/``middle`` and
    ``middle``/``high``; ``low``/``high`` only through ``middle``).
    """

    def __init__(self, low, middle, high, strict: bool = False):
        self.low = low
        self.middle = middle
        self.high = high
        self.strict = strict

    @property
    def _chain(self) -> tuple:
        return (self.low, self.middle, self.high)

    def params(self) -> dict:
        return {"low": self.low, "middle": self.middle, "high": self.high, "strict": self.strict}


class ScalarRange(Constraint):
    """Every value of ``column`` lies in ``[low, high]`` (``(low, high)`` when ``strict``);
    ``low``/``high`` are numbers, or timestamps (``pd.Timestamp`` or ISO text) for a datetime
    column (with the column's time zone when it has one).

    Transform: ``column`` -> ``"{column}.logit"``, the logit of the position inside the bounds
    (see the module notes). Missing values stay missing and are not checked.
    """

    def __init__(self, column, low, high, strict: bool = False):
        self.column = column
        self.low = low
        self.high = high
        self.strict = strict

    @property
    def columns(self) -> tuple:
        return (self.column,)

    @property
    def rule(self) -> str:
        op = "<" if self.strict else "<="
        return f"{self.low!r} {op} {self.column} {op} {self.high!r}"

    def params(self) -> dict:
        return {"column": self.column, "low": self.low, "high": self.high, "strict": self.strict}

    def _params_to_json(self) -> dict:
        return {**self.params(), "low": to_json_value(self.low), "high": to_json_value(self.high)}

    @classmethod
    def _from_params(cls, params: dict) -> "ScalarRange":
        return cls(params["column"], from_json_value(params["low"]), from_json_value(params["high"]), params["strict"])

    def _check_params(self) -> None:
        _check_strict(self.name, self.strict)
        for which in ("low", "high"):
            value = getattr(self, which)
            not_finite = isinstance(value, float) and not math.isfinite(value)
            if isinstance(value, (bool, np.bool_)) or value is None or not_finite:
                raise ConfigError(f"{self.name}: {which} must be a finite number or a timestamp, got {value!r}")

    def _bounds(self, df: pd.DataFrame) -> tuple:
        """(kind, low, high) in number space (float for numbers, UTC nanoseconds for datetimes)."""
        kind = number_kind(df[self.column])
        if kind is None:
            raise ConstraintError(
                [f"{self.name}: column {self.column!r} holds {df[self.column].dtype} values; "
                 "it needs numbers or datetimes"]
            )
        if kind == DATETIME:
            tz = getattr(df[self.column].dt, "tz", None)
            out = []
            for which in ("low", "high"):
                try:
                    ts = pd.Timestamp(getattr(self, which))
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"{self.name}: {which}={getattr(self, which)!r} is not a timestamp; "
                        f"column {self.column!r} holds datetimes"
                    ) from None
                if (ts.tz is None) != (tz is None):
                    raise ConfigError(
                        f"{self.name}: {which}={ts} and column {self.column!r} ({df[self.column].dtype}) must both "
                        "have a time zone or both have none"
                    )
                if ts.tz is not None:
                    ts = ts.tz_convert("UTC").tz_localize(None)
                out.append(int(ts.as_unit("ns").value))
            low, high = out
        else:
            if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in (self.low, self.high)):
                raise ConfigError(f"{self.name}: low and high must be numbers for the numeric column {self.column!r}")
            low, high = float(self.low), float(self.high)
        if not low < high:
            raise ConfigError(f"{self.name}: low must be below high")
        return kind, low, high

    def _check_table(self, df: pd.DataFrame) -> None:
        super()._check_table(df)
        self._bounds(df)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        kind, low, high = self._bounds(df)
        values, present = as_numbers(df[self.column], kind)
        holds = ((low < values) & (values < high)) if self.strict else ((low <= values) & (values <= high))
        return ~present | holds

    def _fit(self, df: pd.DataFrame) -> None:
        kind, low, high = self._bounds(df)
        self.type_ = ColumnType.of(df[self.column])
        values, present = as_numbers(df[self.column], kind)
        self.decimals_ = observed_decimals(values[present]) if kind == FLOAT else None
        if kind == FLOAT:
            a = np.nextafter(low, np.inf) if self.strict else low
            b = np.nextafter(high, -np.inf) if self.strict else high
            self.unit_, self.allowed_ = None, [float(a), float(b)]
        else:
            unit = datetime_unit(values[present]) if kind == DATETIME else 1
            if kind == DATETIME:  # exact integer arithmetic on nanoseconds
                a = low // unit + 1 if self.strict else -((-low) // unit)
                b = -((-high) // unit) - 1 if self.strict else high // unit
            else:
                a = math.floor(low) + 1 if self.strict else math.ceil(low)
                b = math.ceil(high) - 1 if self.strict else math.floor(high)
            if a > b:
                raise ConstraintError(
                    [f"{self.name}: no {kind} value of column {self.column!r} fits between the bounds"]
                )
            self.unit_, self.allowed_ = int(unit), [int(a), int(b)]
        taken = set(map(str, df.columns))
        self.output_ = unique_name(f"{self.column}.logit", taken)
        self.mode_ = "logit"
        if kind != FLOAT:
            units = values[present] // self.unit_
            back = self._from_logit(self._to_logit(units.astype("float64")))
            if not np.array_equal(back, units):
                self.mode_ = "clip"
                self.output_ = self.column
        self._set_kinds()

    def _set_kinds(self) -> None:
        if self.mode_ == "clip":
            self.kinds_ = {self.column: "datetime" if self.type_.kind == DATETIME else "integer"}
        else:
            self.kinds_ = {self.output_: "continuous"}

    def _to_logit(self, x: np.ndarray) -> np.ndarray:
        a, b = self.allowed_
        p = (x - a) / (b - a) if b > a else np.full_like(x, 0.5)
        q = MARGIN + (1 - 2 * MARGIN) * p
        return np.log(q / (1 - q))

    def _from_logit(self, z: np.ndarray) -> np.ndarray:
        a, b = self.allowed_
        q = 1 / (1 + np.exp(-np.clip(z, -50, 50)))
        p = np.clip((q - MARGIN) / (1 - 2 * MARGIN), 0.0, 1.0)
        x = a + p * (b - a)
        if self.unit_ is None:
            return np.clip(x, a, b)
        return np.clip(np.round(x), a, b).astype("int64")

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.mode_ == "clip":
            return df
        kind = self.type_.kind
        values, present = read_numbers(df[self.column], kind)
        x = values.astype("float64") if self.unit_ is None else (values // self.unit_).astype("float64")
        z = np.where(present, self._to_logit(np.where(present, x, self.allowed_[0])), np.nan)
        df = df.drop(columns=[self.column])
        df[self.output_] = z
        return df

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        kind = self.type_.kind
        a, b = self.allowed_
        if self.mode_ == "clip":
            values, present = read_numbers(df[self.column], kind)
            x = values if self.unit_ is None else values // self.unit_
            x = np.clip(x, a, b)
        else:
            z = df[self.output_].to_numpy(dtype="float64", na_value=np.nan)
            present = ~np.isnan(z)
            x = self._from_logit(np.where(present, z, 0.0))
            df = df.drop(columns=[self.output_])
        if self.unit_ is None:
            if self.decimals_ is not None:
                r = np.round(x, self.decimals_)
                x = np.where((r >= a) & (r <= b), r, x)
            dtype = self.type_.pandas_dtype
            x = _at_least(x, np.full(len(x), a), dtype, False)
            top = np.asarray(b).astype(x.dtype)
            if float(top) > b:
                top = np.nextafter(top, x.dtype.type(-np.inf))
            x = np.where(x.astype("float64") > b, top, x)
            values = x.astype("float64")
        else:
            values = x.astype("int64") * self.unit_
        df[self.column] = self.type_.restore_numbers(values, present, df.index, self.column)
        return df

    def _state_to_json(self) -> dict:
        return {
            "type": self.type_.to_json(), "decimals": self.decimals_, "unit": self.unit_,
            "allowed": self.allowed_, "output": self.output_, "mode": self.mode_,
        }

    def _state_from_json(self, state: dict) -> None:
        self.type_ = ColumnType.from_json(state["type"])
        self.decimals_, self.unit_ = state["decimals"], state["unit"]
        self.allowed_, self.output_, self.mode_ = list(state["allowed"]), state["output"], state["mode"]
        if self.mode_ not in ("logit", "clip"):
            raise ValueError(f"unknown ScalarRange mode {self.mode_!r}")
        self._set_kinds()
