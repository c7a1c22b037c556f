"""Exact-match detection: does a synthetic row copy a training row?

Two rows match when every compared column is equal after :class:`RowNormaliser`:

- continuous numbers are rounded to the decimals observed in the training column (the
  fewest decimals, at most :data:`synthgan.schema.MAX_DECIMALS`, that reproduce every training value to
  within 1e-7 of its magnitude), so 3.14159 copies a training 3.14 recorded to 2 decimals;
  integers to 0 decimals; -0.0 equals 0.0;
- datetimes are compared as instants (nanoseconds since the epoch, UTC);
- categories and booleans as text (:func:`~synthgan.privacy.space.category_text`: 1, 1.0
  and "1" are equal);
- missing equals missing (NaN, None, NaT alike), in every kind;
- identifier columns are left out (a model generates fresh ones; they never prove a copy).

Each normalised row is hashed to a uint64 (``pandas.util.hash_pandas_object``, index
ignored). :class:`ExactMatchIndex` keeps the sorted hashes of the training rows: saving it
(e.g. inside a model file) stores one 64-bit hash per training row, not the rows, but hashes
of low-entropy rows can be confirmed by guessing, so treat a saved index as personal data.
Two different rows share a hash with probability about 2^-64 per pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.privacy.space import category_texts
from synthgan.schema import DISCRETE_KINDS, ColumnKind, Schema, detect_schema, observed_decimals

def _datetime_ns(series: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(series):
        series = pd.to_datetime(series, errors="coerce")
    if series.dt.tz is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[ns]").to_numpy().view("int64")  # NaT: the smallest int64


@dataclass(frozen=True)
class RowNormaliser:
    """How each compared column is normalised before rows are hashed (see the module docstring)."""

    columns: tuple  # compared columns, in order
    kinds: tuple  # "number" | "datetime" | "category" per column
    decimals: tuple  # per column: decimals numbers are rounded to (None for other kinds)

    @classmethod
    def fit(cls, df: pd.DataFrame, schema: Schema) -> "RowNormaliser":
        columns, kinds, decimals = [], [], []
        for col in schema.columns:
            if col.kind is ColumnKind.ID:
                continue
            columns.append(col.name)
            if col.kind in DISCRETE_KINDS:
                kinds.append("category")
                decimals.append(None)
            elif col.kind is ColumnKind.DATETIME:
                kinds.append("datetime")
                decimals.append(None)
            else:
                kinds.append("number")
                values = pd.to_numeric(df[col.name], errors="coerce").to_numpy("float64", na_value=np.nan)
                decimals.append(0 if col.kind is ColumnKind.INTEGER else observed_decimals(values))
        return cls(tuple(columns), tuple(kinds), tuple(decimals))

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """The compared columns, normalised: floats, int64 nanoseconds, or text."""
        out = {}
        for i, (name, kind, decimals) in enumerate(zip(self.columns, self.kinds, self.decimals)):
            if kind == "category":
                out[i] = category_texts(df[name])
            elif kind == "datetime":
                out[i] = _datetime_ns(df[name])
            else:
                values = pd.to_numeric(df[name], errors="coerce").to_numpy("float64", na_value=np.nan)
                values = values if decimals is None else np.round(values, decimals)  # None: full precision
                out[i] = values + 0.0  # + 0.0 turns -0.0 into 0.0
        return pd.DataFrame(out, index=pd.RangeIndex(len(df)))

    def state(self) -> dict:
        """JSON-ready; column names are kept as given (use text names to round-trip them)."""
        return {"columns": list(self.columns), "kinds": list(self.kinds), "decimals": list(self.decimals)}

    @classmethod
    def from_state(cls, state: dict) -> "RowNormaliser":
        return cls(tuple(state["columns"]), tuple(state["kinds"]), tuple(state["decimals"]))


def row_keys(df: pd.DataFrame, normaliser: RowNormaliser) -> np.ndarray:
    """One stable uint64 hash per row of ``df`` over its normalised compared columns."""
    if len(df) == 0:
        return np.empty(0, dtype=np.uint64)
    frame = normaliser.transform(df)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


class ExactMatchIndex:
    """Sorted row hashes of a training table; :meth:`mask` flags rows that copy one of them.

    Examples
    --------
    >>> import pandas as pd
    >>> train = pd.DataFrame({"x": [1.25, 2.5, 3.75], "c": ["a", "b", "a"]})
    >>> index = ExactMatchIndex.build(train)
    >>> index.mask(pd.DataFrame({"x": [2.5, 2.6], "c": ["b", "b"]})).tolist()
    [True, False]
    """

    def __init__(self, normaliser: RowNormaliser, keys: np.ndarray):
        self.normaliser = normaliser
        self.keys = np.unique(np.asarray(keys, dtype=np.uint64))

    @classmethod
    def build(cls, train: pd.DataFrame, schema: Schema | None = None) -> "ExactMatchIndex":
        """Index ``train``; its column kinds come from ``schema`` or are detected."""
        schema = schema if schema is not None else detect_schema(train)
        normaliser = RowNormaliser.fit(train, schema)
        return cls(normaliser, row_keys(train, normaliser))

    def mask(self, rows: pd.DataFrame) -> np.ndarray:
        """True for every row of ``rows`` equal to some training row after normalisation."""
        keys = row_keys(rows, self.normaliser)
        if len(self.keys) == 0 or len(keys) == 0:
            return np.zeros(len(keys), dtype=bool)
        at = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        return self.keys[at] == keys

    def __len__(self) -> int:
        return len(self.keys)

    def state(self) -> dict:
        """The normaliser as JSON; store :attr:`keys` (uint64 array) next to it."""
        return self.normaliser.state()

    @classmethod
    def from_state(cls, state: dict, keys: np.ndarray) -> "ExactMatchIndex":
        return cls(RowNormaliser.from_state(state), keys)
