"""Columns as numbers and back, and values as JSON and back: what every constraint needs to
reparameterise a column and restore it with its own dtype.

Number space: integers -> int64, floats -> float64, datetimes (any unit, naive or
tz-aware) -> int64 nanoseconds since the epoch in UTC. Booleans and text are not numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.constraints.errors import ConstraintError

INT, FLOAT, DATETIME = "int", "float", "datetime"
#: datetime resolutions tried, coarsest first (nanoseconds per unit)
DATETIME_UNITS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


def number_kind(series: pd.Series) -> str | None:
    """``"int"``, ``"float"``, ``"datetime"``, or None for anything else (booleans, text...)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if pd.api.types.is_integer_dtype(dtype):
        return INT
    if pd.api.types.is_float_dtype(dtype):
        return FLOAT
    return None


def as_numbers(series: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): int64 (INT, DATETIME in UTC nanoseconds) or float64 values, with 0 or
    NaN where ``present`` is False."""
    present = series.notna().to_numpy()
    if kind == DATETIME:
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        values = s.astype("datetime64[ns]").to_numpy().view("int64").copy()
        values[~present] = 0
        return values, present
    if kind == INT:
        return _ints(series, present), present
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return values, present


def read_numbers(series: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`as_numbers` for generated columns, whose dtype may differ from the training
    one (an integer column that came back as float64 is rounded)."""
    actual = number_kind(series)
    if actual is None:
        try:
            series = pd.to_numeric(series) if kind != DATETIME else pd.to_datetime(series)
        except (TypeError, ValueError) as exc:
            raise ConstraintError(
                [f"column {series.name!r} holds {series.dtype} values, expected {kind} ({exc})"]
            ) from None
        actual = number_kind(series)
    if kind == INT and actual == FLOAT:
        values, present = as_numbers(series, FLOAT)
        return np.where(present, np.round(values), 0).astype("int64"), present
    if kind == FLOAT and actual == INT:
        values, present = as_numbers(series, INT)
        return np.where(present, values, np.nan).astype("float64"), present
    if (kind == DATETIME) != (actual == DATETIME):
        raise ConstraintError([f"column {series.name!r} holds {series.dtype} values, expected {kind}"])
    return as_numbers(series, kind)


def _ints(series: pd.Series, present: np.ndarray) -> np.ndarray:
    if present.all():
        return series.to_numpy(dtype="int64")
    out = np.zeros(len(series), dtype="int64")
    out[present] = series[present].to_numpy(dtype="int64")
    return out


def datetime_unit(*arrays: np.ndarray) -> int:
    """Coarsest resolution (ns per unit) that every value of the nanosecond arrays is a multiple of."""
    for unit in DATETIME_UNITS:
        if all(np.all(a % unit == 0) for a in arrays):
            return unit
    return 1


@dataclass(frozen=True)
class ColumnType:
    """The dtype of a column, to restore generated values to it (JSON: :meth:`to_json`)."""

    dtype: str
    categories: tuple | None = None  # a pandas 'category' column's declared categories

    @classmethod
    def of(cls, series: pd.Series) -> "ColumnType":
        cats = None
        if isinstance(series.dtype, pd.CategoricalDtype):
            cats = tuple(series.dtype.categories)
        return cls(str(series.dtype), cats)

    def to_json(self) -> dict:
        cats = None if self.categories is None else [to_json_value(v) for v in self.categories]
        return {"dtype": self.dtype, "categories": cats}

    @classmethod
    def from_json(cls, data: dict) -> "ColumnType":
        cats = data.get("categories")
        return cls(data["dtype"], None if cats is None else tuple(from_json_value(v) for v in cats))

    @property
    def kind(self) -> str | None:
        return number_kind(pd.Series([], dtype=self.pandas_dtype))

    @property
    def pandas_dtype(self):
        if self.categories is not None:
            return pd.CategoricalDtype(list(self.categories))
        return pd.api.types.pandas_dtype(self.dtype)

    def restore_objects(self, values, index, name) -> pd.Series:
        """Python values (None/NaN for missing) -> a Series of this dtype. An integer or boolean
        column that receives missing values becomes float64 / object (it cannot hold them)."""
        s = pd.Series(values, index=index, dtype=object, name=name)
        try:
            return s.astype(self.pandas_dtype)
        except (TypeError, ValueError):
            return s.infer_objects()

    def restore_numbers(self, values: np.ndarray, present: np.ndarray, index, name) -> pd.Series:
        """Number-space values (see :func:`as_numbers`) -> a Series of this dtype."""
        dtype = self.pandas_dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            ns = np.where(present, values, np.iinfo("int64").min).astype("int64").view("datetime64[ns]")
            s = pd.Series(ns, index=index, name=name)
            tz = getattr(dtype, "tz", None)
            if tz is not None:
                s = s.dt.tz_localize("UTC").dt.tz_convert(tz)
            return s.astype(dtype)
        if pd.api.types.is_integer_dtype(dtype):
            if present.all():
                return pd.Series(np.asarray(values).astype("int64"), index=index, name=name).astype(dtype)
            if isinstance(dtype, np.dtype):  # numpy ints cannot hold missing values
                return pd.Series(np.where(present, values, np.nan).astype("float64"), index=index, name=name)
            arr = pd.array(np.asarray(values).astype("int64"), dtype=dtype)
            arr[~present] = pd.NA
            return pd.Series(arr, index=index, name=name)
        floats = np.where(present, values, np.nan).astype("float64")
        return pd.Series(floats, index=index, name=name).astype(dtype)


def to_json_value(value):
    """One cell -> JSON (None for missing; timestamps and dates tagged)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        ts = pd.Timestamp(value)
        return {"timestamp": ts.isoformat(), "tz": None if ts.tz is None else str(ts.tz)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    raise ConstraintError(
        [f"value {value!r} of type {type(value).__name__} cannot be saved in a model file "
         "(numbers, text, booleans and datetimes can): convert the column first"]
    )


def from_json_value(value):
    if isinstance(value, dict):
        if "timestamp" in value:
            ts = pd.Timestamp(value["timestamp"])
            return ts.tz_convert(value["tz"]) if value.get("tz") else ts
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
    return value
