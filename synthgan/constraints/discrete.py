"""Rules between discrete columns: ``FixedCombinations`` (only combinations seen in training)
and ``OneHot`` (exactly one flag set).

Reparameterisations (after SDV's ``FixedCombinations`` / ``OneHotEncoding``): the columns
collapse into one categorical column whose categories are the allowed combinations (the
hot column's name for ``OneHot``); a categorical generator can only emit one of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgan.constraints._values import INT, FLOAT, ColumnType, from_json_value, number_kind, to_json_value
from synthgan.constraints.base import Constraint, check_column_names, offending_rows_error, unique_name
from synthgan.constraints.errors import ConstraintError
from synthgan.schema import category_text

MISSING_TEXT = "<missing>"


def _labels_of(series: pd.Series, labels: list, owner: str) -> np.ndarray:
    """Positions of a generated categorical column's values in ``labels``; ConstraintError for a
    missing or unknown value (nothing to restore the columns from)."""
    idx = pd.Index(labels).get_indexer(series.astype(object))
    if (idx < 0).any():
        bad = series[idx < 0]
        raise ConstraintError(
            [f"{owner}: column {series.name!r} has {len(bad)} value(s) that are not categories it made "
             f"(e.g. {list(bad.head(3))!r}); only the transform's output can be reversed"]
        )
    return idx


class _ColumnGroup(Constraint):
    """A rule over a group of at least two columns, given as ``columns``."""

    def __init__(self, columns):
        self.columns_arg = columns

    @property
    def columns(self) -> tuple:
        return tuple(self.columns_arg) if isinstance(self.columns_arg, (list, tuple)) else (self.columns_arg,)

    def params(self) -> dict:
        return {"columns": list(self.columns)}

    def _check_params(self) -> None:
        check_column_names(self.name, "columns", self.columns_arg, 2)


class FixedCombinations(_ColumnGroup):
    """Only the combinations of ``columns`` seen in the training table occur.

    Missing values are a value like any other: a combination holding a missing value is
    allowed when it was seen. Before ``fit`` there is nothing to check (``validate`` passes,
    ``is_valid`` raises NotFittedError).

    Transform: the columns -> one categorical column ``"{a}+{b}.combination"`` whose categories
    are the seen combinations (``"Boston | MA"``). Transforming a table with an unseen
    combination raises ConstraintError naming its rows.
    """

    @property
    def rule(self) -> str:
        return f"({', '.join(map(str, self.columns))}) is a combination seen in training"

    def validate(self, df: pd.DataFrame) -> None:
        self._check_params()
        self._check_table(df)
        if getattr(self, "fitted_", False):
            super().validate(df)

    def _codes(self, df: pd.DataFrame) -> np.ndarray:
        """(rows, columns) codes: position in the column's seen values, ``len(values)`` for
        missing, -1 for a value never seen."""
        out = np.empty((len(df), len(self.columns)), dtype="int64")
        for j, c in enumerate(self.columns):
            values = self.values_[j]
            idx = pd.Index(values, dtype=object if not values else None).get_indexer(df[c])
            missing = df[c].isna().to_numpy()
            out[:, j] = np.where(missing, len(values), idx)
        return out

    def _combination_index(self, df: pd.DataFrame) -> np.ndarray:
        codes = self._codes(df)
        seen = pd.MultiIndex.from_arrays([self.combos_[:, j] for j in range(len(self.columns))])
        rows = pd.MultiIndex.from_arrays([codes[:, j] for j in range(len(self.columns))])
        return seen.get_indexer(rows)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return self._combination_index(df) >= 0

    def _fit(self, df: pd.DataFrame) -> None:
        self.types_ = [ColumnType.of(df[c]) for c in self.columns]
        self.values_ = []
        for c in self.columns:
            values = list(pd.unique(df[c].dropna()))
            [to_json_value(v) for v in values]  # fail now, not at save, on values JSON cannot hold
            self.values_.append([v.item() if isinstance(v, np.generic) else v for v in values])
        self.combos_ = np.unique(self._codes(df), axis=0)
        self._finish(set(map(str, df.columns)))

    def _finish(self, taken) -> None:
        labels, used = [], set()
        for combo in self.combos_:
            parts = [
                MISSING_TEXT if code == len(vals) else category_text(vals[code], MISSING_TEXT)
                for code, vals in zip(combo, self.values_)
            ]
            label = unique_name(" | ".join(parts), used)
            used.add(label)
            labels.append(label)
        self.labels_ = labels
        if not hasattr(self, "output_"):
            self.output_ = unique_name("+".join(map(str, self.columns)) + ".combination", taken)
        self.kinds_ = {self.output_: "categorical"}

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        idx = self._combination_index(df)
        if (idx < 0).any():
            raise offending_rows_error(self.name, self.rule, df, idx >= 0, self.columns)
        df = df.drop(columns=list(self.columns))
        df[self.output_] = pd.Categorical.from_codes(idx, categories=self.labels_)
        return df

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        idx = _labels_of(df[self.output_], self.labels_, self.name)
        df = df.drop(columns=[self.output_])
        for j, c in enumerate(self.columns):
            table = np.empty(len(self.values_[j]) + 1, dtype=object)
            table[:-1] = self.values_[j]
            table[-1] = None
            df[c] = self.types_[j].restore_objects(table[self.combos_[idx, j]], df.index, c)
        return df

    def _state_to_json(self) -> dict:
        return {
            "types": [t.to_json() for t in self.types_],
            "values": [[to_json_value(v) for v in vals] for vals in self.values_],
            "combinations": self.combos_.tolist(),
            "output": self.output_,
        }

    def _state_from_json(self, state: dict) -> None:
        self.types_ = [ColumnType.from_json(t) for t in state["types"]]
        self.values_ = [[from_json_value(v) for v in vals] for vals in state["values"]]
        self.combos_ = np.asarray(state["combinations"], dtype="int64").reshape(-1, len(self.columns))
        if len(self.types_) != len(self.columns) or len(self.values_) != len(self.columns):
            raise ValueError("FixedCombinations: saved state does not match its columns")
        self.output_ = state["output"]
        self._finish(())


class OneHot(_ColumnGroup):
    """On every row exactly one of ``columns`` is 1 (or True) and the others 0 (False).

    A missing flag breaks the rule (one-hot flags have no missing values; fill or drop them
    first). Columns are numbers or booleans.

    Transform: the flags -> one categorical column ``"{a}|{b}|....onehot"`` holding the hot
    column's name.
    """

    @property
    def rule(self) -> str:
        return f"exactly one of {list(self.columns)} is 1, the others 0"

    def _check_table(self, df: pd.DataFrame) -> None:
        super()._check_table(df)
        bad = [
            f"{self.name}: column {c!r} holds {df[c].dtype} values; one-hot flags are numbers or booleans"
            for c in self.columns
            if not (pd.api.types.is_bool_dtype(df[c]) or number_kind(df[c]) in (INT, FLOAT))
        ]
        if bad:
            raise ConstraintError(bad)

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        flags = np.column_stack([df[c].to_numpy(dtype="float64", na_value=np.nan) for c in self.columns])
        binary = np.isin(flags, (0.0, 1.0)).all(axis=1)
        return binary & (np.nansum(flags, axis=1) == 1)

    def _fit(self, df: pd.DataFrame) -> None:
        self.types_ = [ColumnType.of(df[c]) for c in self.columns]
        self.output_ = unique_name("|".join(map(str, self.columns)) + ".onehot", set(map(str, df.columns)))
        self._finish()

    def _finish(self) -> None:
        labels, used = [], set()
        for c in self.columns:
            label = unique_name(str(c), used)
            used.add(label)
            labels.append(label)
        self.labels_ = labels
        self.kinds_ = {self.output_: "categorical"}

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        mask = self._row_mask(df)
        if not mask.all():
            raise offending_rows_error(self.name, self.rule, df, mask, self.columns)
        flags = np.column_stack([df[c].to_numpy(dtype="float64") for c in self.columns])
        df = df.drop(columns=list(self.columns))
        df[self.output_] = pd.Categorical.from_codes(flags.argmax(axis=1), categories=self.labels_)
        return df

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        idx = _labels_of(df[self.output_], self.labels_, self.name)
        df = df.drop(columns=[self.output_])
        present = np.ones(len(df), dtype=bool)
        for j, c in enumerate(self.columns):
            flag = (idx == j).astype("int64")
            t = self.types_[j]
            if pd.api.types.is_bool_dtype(t.pandas_dtype):
                df[c] = pd.Series(flag.astype(bool), index=df.index, name=c).astype(t.pandas_dtype)
            else:
                df[c] = t.restore_numbers(flag, present, df.index, c)
        return df

    def _state_to_json(self) -> dict:
        return {"types": [t.to_json() for t in self.types_], "output": self.output_}

    def _state_from_json(self, state: dict) -> None:
        self.types_ = [ColumnType.from_json(t) for t in state["types"]]
        if len(self.types_) != len(self.columns):
            raise ValueError("OneHot: saved state does not match its columns")
        self.output_ = state["output"]
        self._finish()
