"""Arithmetic rules on number columns: ``FixedIncrements`` (values are multiples of a step) and
``Sum`` (a total equals the sum of its parts).

Reparameterisations (after SDV's ``FixedIncrements`` and ``FixedCombinations``-style
recomputation): the column is divided by the step and modelled as an integer count; the
total is dropped and recomputed from the generated parts. Float comparisons allow a
relative tolerance of ``FLOAT_RTOL`` (or 16 machine epsilons of the column's dtype, if
larger, e.g. for float32). Rows with a missing value in the constraint's columns are not
checked (valid).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synthgan.constraints._values import FLOAT, INT, ColumnType, as_numbers, number_kind, read_numbers
from synthgan.constraints.base import Constraint, check_column_names, unique_name
from synthgan.constraints.errors import ConstraintError
from synthgan.errors import ConfigError
from synthgan.schema import observed_decimals

FLOAT_RTOL = 1e-9


def _number_kinds(owner: str, df: pd.DataFrame, columns) -> dict:
    kinds = {c: number_kind(df[c]) for c in columns}
    bad = [
        f"{owner}: column {c!r} holds {df[c].dtype} values; it needs numbers (integers or floats)"
        for c, k in kinds.items() if k not in (INT, FLOAT)
    ]
    if bad:
        raise ConstraintError(bad)
    return kinds


def _rtol(*dtypes) -> float:
    eps = [np.finfo(d).eps for d in dtypes if isinstance(d, np.dtype) and d.kind == "f"]
    return max([FLOAT_RTOL] + [16 * e for e in eps])


class FixedIncrements(Constraint):
    """Every value of ``column`` is a whole multiple of ``step`` (``FixedIncrements("price",
    0.05)``). An integer column needs a whole-number step.

    Transform: ``column`` -> ``"{column}/{step}"``, the integer count ``column / step``.
    Raises ConfigError for a step that is not a positive finite number.
    """

    def __init__(self, column, step):
        self.column = column
        self.step = step

    @property
    def columns(self) -> tuple:
        return (self.column,)

    @property
    def rule(self) -> str:
        return f"{self.column} is a multiple of {self.step!r}"

    def params(self) -> dict:
        return {"column": self.column, "step": self.step}

    def _check_params(self) -> None:
        s = self.step
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, float, np.integer, np.floating)) or not (
            math.isfinite(s) and s > 0
        ):
            raise ConfigError(f"{self.name}: step must be a positive finite number, got {s!r}")

    def _check_table(self, df: pd.DataFrame) -> None:
        super()._check_table(df)
        kind = _number_kinds(self.name, df, self.columns)[self.column]
        if kind == INT and float(self.step) != int(self.step):
            raise ConfigError(f"{self.name}: column {self.column!r} holds integers; the step must be a whole number")

    def _int_step(self, kind: str) -> bool:
        return kind == INT and float(self.step) == int(self.step)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        kind = number_kind(df[self.column])
        values, present = as_numbers(df[self.column], kind)
        if self._int_step(kind):
            return ~present | (values % int(self.step) == 0)
        q = values / float(self.step)
        tol = _rtol(df[self.column].dtype) * np.maximum(1.0, np.abs(q))
        return ~present | (np.abs(q - np.round(q)) <= tol)

    def _fit(self, df: pd.DataFrame) -> None:
        kind = number_kind(df[self.column])
        self.type_ = ColumnType.of(df[self.column])
        values, present = as_numbers(df[self.column], kind)
        self.decimals_ = observed_decimals(values[present]) if kind == FLOAT else None
        self.output_ = unique_name(f"{self.column}/{self.step}", set(map(str, df.columns)))
        self.kinds_ = {self.output_: "integer"}

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        kind = self.type_.kind
        values, present = read_numbers(df[self.column], kind)
        if self._int_step(kind):
            k = values // int(self.step)
        else:
            k = np.round(np.where(present, values, 0.0) / float(self.step)).astype("int64")
        out = pd.Series(pd.array(np.where(present, k, 0), dtype="Int64"), index=df.index)
        out[~present] = pd.NA
        df = df.drop(columns=[self.column])
        df[self.output_] = out.astype("int64") if present.all() else out
        return df

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        kind = self.type_.kind
        k = df[self.output_].to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(k)
        k = np.round(np.where(present, k, 0.0)).astype("int64")
        if self._int_step(kind):
            values = k * int(self.step)
        else:
            values = k * float(self.step)
            if self.decimals_ is not None:
                r = np.round(values, self.decimals_)
                tol = _rtol(self.type_.pandas_dtype) * np.maximum(1.0, np.abs(k))
                values = np.where(np.abs(r / float(self.step) - k) <= tol, r, values)
        df = df.drop(columns=[self.output_])
        df[self.column] = self.type_.restore_numbers(values, present, df.index, self.column)
        return df

    def _state_to_json(self) -> dict:
        return {"type": self.type_.to_json(), "decimals": self.decimals_, "output": self.output_}

    def _state_from_json(self, state: dict) -> None:
        self.type_ = ColumnType.from_json(state["type"])
        self.decimals_, self.output_ = state["decimals"], state["output"]
        self.kinds_ = {self.output_: "integer"}


class Sum(Constraint):
    """``total`` equals the sum of ``parts`` on every row (``Sum(["net", "tax"], "gross")``).

    Transform: ``total`` is dropped and recomputed from the parts (rounded to its training
    decimals where that stays within tolerance). When ``total`` holds integers and a part
    holds floats, the recomputed sum need not be whole: the constraint is then checked by
    rejection only (``transformable`` is False after fit).
    """

    def __init__(self, parts, total):
        self.parts = parts
        self.total = total

    @property
    def columns(self) -> tuple:
        parts = tuple(self.parts) if isinstance(self.parts, (list, tuple)) else (self.parts,)
        return (*parts, self.total)

    @property
    def rule(self) -> str:
        return f"{self.total} = {' + '.join(map(str, self.columns[:-1]))}"

    def params(self) -> dict:
        return {"parts": list(self.columns[:-1]), "total": self.total}

    @property
    def replaced_columns(self) -> tuple:
        return (self.total,)

    @property
    def transformable(self) -> bool:
        return getattr(self, "transformable_", True)

    def _check_params(self) -> None:
        check_column_names(self.name, "parts", self.parts, 1)
        if self.total in self.parts:
            raise ConfigError(f"{self.name}: total {self.total!r} is also one of the parts")

    def _check_table(self, df: pd.DataFrame) -> None:
        super()._check_table(df)
        _number_kinds(self.name, df, self.columns)

    def _sum(self, df: pd.DataFrame, kinds: dict) -> tuple[np.ndarray, np.ndarray]:
        parts = self.columns[:-1]
        exact = all(kinds[c] == INT for c in parts)
        total = np.zeros(len(df), dtype="int64" if exact else "float64")
        present = np.ones(len(df), dtype=bool)
        for c in parts:
            values, p = read_numbers(df[c], kinds[c])
            total = total + (values if exact else values.astype("float64"))
            present &= p
        return total, present

    def _tolerance(self, df: pd.DataFrame, kinds: dict, reference: np.ndarray) -> np.ndarray:
        scale = np.abs(reference).astype("float64")
        for c in self.columns[:-1]:
            scale = scale + np.abs(read_numbers(df[c], kinds[c])[0].astype("float64"))
        total_dtype = df[self.total].dtype if self.total in df.columns else self.type_.pandas_dtype
        return _rtol(total_dtype, *(df[c].dtype for c in self.columns[:-1])) * np.maximum(1.0, scale)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        kinds = _number_kinds(self.name, df, self.columns)
        s, present = self._sum(df, kinds)
        t, tp = as_numbers(df[self.total], kinds[self.total])
        if s.dtype == np.int64 and kinds[self.total] == INT:
            holds = s == t
        else:
            holds = np.abs(t.astype("float64") - s) <= self._tolerance(df, kinds, s)
        return ~(present & tp) | holds

    def _fit(self, df: pd.DataFrame) -> None:
        kinds = _number_kinds(self.name, df, self.columns)
        self.kinds_in_ = kinds
        self.type_ = ColumnType.of(df[self.total])
        t, tp = as_numbers(df[self.total], kinds[self.total])
        self.decimals_ = observed_decimals(t[tp]) if kinds[self.total] == FLOAT else None
        self.transformable_ = not (kinds[self.total] == INT and any(kinds[c] == FLOAT for c in self.columns[:-1]))
        _, present = self._sum(df, kinds)
        self.stash_ = bool(np.any(~present & tp))
        self.kinds_ = {}

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.transformable:
            return df
        if self.stash_:
            kinds = self.kinds_in_
            _, present = self._sum(df, kinds)
            t, tp = read_numbers(df[self.total], kinds[self.total])
            df[self.total] = self.type_.restore_numbers(t, tp & ~present, df.index, self.total)
            return df
        return df.drop(columns=[self.total])

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        if not self.transformable:
            return df
        kinds = self.kinds_in_
        missing = [c for c in self.columns[:-1] if c not in df.columns]
        if missing:
            raise ConstraintError([f"{self.name}: reverse_transform needs the part column(s) {missing}"])
        s, present = self._sum(df, kinds)
        if self.decimals_ is not None:
            r = np.round(s, self.decimals_)
            s = np.where(np.abs(r - s) <= self._tolerance(df, kinds, s), r, s)
        if self.stash_ and self.total in df.columns:
            t, tp = read_numbers(df[self.total], kinds[self.total])
            keep = ~present & tp
            values = np.where(present, s, t)
            df[self.total] = self.type_.restore_numbers(values, present | keep, df.index, self.total)
        else:
            df[self.total] = self.type_.restore_numbers(s, present, df.index, self.total)
        return df

    def _state_to_json(self) -> dict:
        return {
            "type": self.type_.to_json(), "decimals": self.decimals_, "stash": self.stash_,
            "transformable": self.transformable_, "kinds": [[c, self.kinds_in_[c]] for c in self.columns],
        }

    def _state_from_json(self, state: dict) -> None:
        self.type_ = ColumnType.from_json(state["type"])
        self.decimals_, self.stash_ = state["decimals"], bool(state["stash"])
        self.transformable_ = bool(state["transformable"])
        self.kinds_in_ = {c: k for c, k in state["kinds"]}
        if list(self.kinds_in_) != list(self.columns):
            raise ValueError("Sum: saved state does not match its columns")
        self.kinds_ = {}
