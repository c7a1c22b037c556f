"""Column kinds: what each column is, detected from the data or set by the user.

Detection is a handful of explicit rules (documented on :func:`detect_schema`); anything it
gets wrong is fixed with a :class:`Metadata` override rather than by guessing harder.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from synthgan.errors import DataError, SchemaError
from synthgan.forms import Form, detect_form, from_canonical, to_canonical


class ColumnKind(str, Enum):
    CONTINUOUS = "continuous"
    INTEGER = "integer"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"


DISCRETE_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)

#: integer-valued numeric columns with at most this many distinct values are categorical
MAX_INTEGER_CATEGORIES = 10
#: text columns whose share of distinct values exceeds this are identifiers
ID_UNIQUE_RATIO = 0.9
#: integer columns need this share of distinct values (and a counter or an id-like name)
ID_UNIQUE_RATIO_INTEGER = 0.99
#: below this many rows nothing is called an identifier (too little evidence)
ID_MIN_ROWS = 20
_ID_NAME = re.compile(r"(?i:(^|[_\W])(id|uuid|guid|key|no)$|number$)|(?<=[a-z])(Id|ID)$")


class ColumnMetadata(BaseModel):
    """A user's statement about one column."""

    model_config = ConfigDict(extra="forbid")
    kind: ColumnKind


class Metadata(BaseModel):
    """User overrides of detected column kinds: ``Metadata(columns={"zip": {"kind": "categorical"}})``.

    A plain ``{"zip": "categorical"}`` mapping is accepted wherever a Metadata is.
    """

    model_config = ConfigDict(extra="forbid")
    columns: dict[str, ColumnMetadata] = {}

    @classmethod
    def coerce(cls, value: "Metadata | dict | None") -> "Metadata":
        if value is None:
            return cls()
        if isinstance(value, Metadata):
            return value
        if isinstance(value, dict) and "columns" not in value:
            value = {
                "columns": {
                    str(name): ({"kind": spec} if isinstance(spec, (str, ColumnKind)) else spec)
                    for name, spec in value.items()
                }
            }
        elif isinstance(value, dict) and isinstance(value["columns"], dict):
            value = {**value, "columns": {str(k): v for k, v in value["columns"].items()}}
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            kinds = ", ".join(k.value for k in ColumnKind)
            raise SchemaError(
                [
                    f"metadata for column {'.'.join(str(p) for p in err['loc'][1:2]) or '?'!r}: "
                    f"{err['msg']} (given {err.get('input')!r}; kinds are {kinds})"
                    for err in exc.errors()
                ]
            ) from None


@dataclass(frozen=True)
class ColumnSchema:
    """One column as the model sees it, plus what is needed to restore its dtype."""

    name: str
    kind: ColumnKind
    dtype: str
    missing_rate: float
    timezone: str | None = None
    categories: tuple | None = None  # declared categories of a pandas 'category' dtype
    #: how the column carries its values when not in ``dtype`` (date objects, ISO text,
    #: Decimals...; see :mod:`synthgan.forms`); ``dtype`` is then the canonical dtype
    form: Form | None = None

    def to_json(self) -> dict:
        out = asdict(self)
        out["kind"] = self.kind.value
        out["categories"] = list(self.categories) if self.categories is not None else None
        out["form"] = self.form.to_json() if self.form is not None else None
        return out

    @classmethod
    def from_json(cls, data: dict) -> "ColumnSchema":
        cats = data.get("categories")
        return cls(
            name=data["name"],
            kind=ColumnKind(data["kind"]),
            dtype=data["dtype"],
            missing_rate=float(data["missing_rate"]),
            timezone=data.get("timezone"),
            categories=tuple(cats) if cats is not None else None,
            form=Form.from_json(data.get("form")),
        )


@dataclass(frozen=True)
class Schema:
    columns: tuple[ColumnSchema, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSchema:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_json(self) -> list[dict]:
        return [c.to_json() for c in self.columns]

    def canonical(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with every column that has a :class:`~synthgan.forms.Form` in its canonical
        dtype (datetime64 / float64); other columns are shared, not copied. Columns the schema
        does not know are left as they are."""
        forms = {c.name: c.form for c in self.columns if c.form is not None and c.name in df.columns}
        if not forms:
            return df
        out = df.copy(deep=False)
        for name, form in forms.items():
            out[name] = to_canonical(df[name], form, name)
        return out

    def restore_forms(self, df: pd.DataFrame) -> pd.DataFrame:
        """Canonical columns of generated rows -> each column's own form (inverse of canonical)."""
        for col in self.columns:
            if col.form is not None and col.name in df.columns:
                df[col.name] = from_canonical(df[col.name], col.form)
        return df

    @classmethod
    def from_json(cls, data: list[dict]) -> "Schema":
        return cls(tuple(ColumnSchema.from_json(d) for d in data))


#: most decimals a continuous column is rounded to; a column that needs more is kept at full precision
MAX_DECIMALS = 8
#: a value "has" d decimals when rounding it to d moves it by at most this share of its size
DECIMALS_TOLERANCE = 1e-7


def observed_decimals(values: np.ndarray) -> int | None:
    """Fewest decimals (0..MAX_DECIMALS) that reproduce every finite value of a training column,
    or None when none does (full-precision floats, or values as small as ``1e-9``): such a
    column is never rounded. The tolerance is relative to each value, so ``1e-9`` does not
    "have" 0 decimals."""
    finite = values[np.isfinite(values)]
    tolerance = DECIMALS_TOLERANCE * np.abs(finite)
    for d in range(MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(finite, d) - finite) <= tolerance):
            return d
    return None


def _examples(values, limit: int = 3) -> str:
    return ", ".join(repr(v) for v in list(values)[:limit])


def validate_table(df: pd.DataFrame) -> None:
    """Raise one error listing every problem that stops ``df`` from being modelled."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise DataError("the table has no columns")
    if len(df) == 0:
        raise DataError("the table is empty (0 rows); fit needs at least 2 rows")
    if len(df) < 2:
        raise DataError(
            f"the table has {len(df)} row; fit needs at least 2 rows to learn a distribution"
        )
    problems = []
    dupes = df.columns[df.columns.duplicated()].unique().tolist()
    if dupes:
        problems.append(f"duplicate column names {dupes}: rename them so every column is unique")
    for name in df.columns.unique():
        col = df[name]
        if isinstance(col, pd.DataFrame):
            continue  # duplicate name, reported above
        if isinstance(col.dtype, pd.ArrowDtype) and not (
            pd.api.types.is_string_dtype(col) or pd.api.types.is_bool_dtype(col)
            or pd.api.types.is_integer_dtype(col) or pd.api.types.is_float_dtype(col)
        ):
            problems.append(
                f"column {name!r} has the pyarrow-backed dtype {col.dtype}: read the table without "
                "dtype_backend='pyarrow' (or convert the column with .astype(object) for decimals, "
                "pd.to_datetime(...) for dates) first"
            )
        elif pd.api.types.is_complex_dtype(col):
            problems.append(
                f"column {name!r} holds complex numbers: split them into real and imaginary columns"
            )
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.to_numpy(dtype="float64", na_value=np.nan)
            n_inf = int(np.isinf(values).sum())
            if n_inf:
                problems.append(
                    f"column {name!r} has {n_inf} infinite value(s): replace them with NaN "
                    "(learned as missing) or a finite number"
                )
        elif col.dtype == object:
            types = {str if issubclass(t, str) else t for t in {type(v) for v in col.dropna()}}  # np.str_ is text
            numbers = {int, float, np.int64, np.float64}
            same_family = all(issubclass(t, dt.datetime) for t in types) or all(
                issubclass(t, decimal.Decimal) for t in types
            )
            if len(types) > 1 and not types <= numbers and not types <= {bool, np.bool_} and not same_family:
                names = sorted(t.__name__ for t in types)
                bad = col.dropna()
                firsts = [bad[bad.map(type) == t].iloc[0] for t in types]
                problems.append(
                    f"column {name!r} mixes value types {names} (e.g. {_examples(firsts)}): "
                    f"convert it to one type, e.g. df[{name!r}].astype(str)"
                )
        elif not (
            pd.api.types.is_bool_dtype(col)
            or pd.api.types.is_datetime64_any_dtype(col)
            or isinstance(col.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(col)
        ):
            problems.append(
                f"column {name!r} has unsupported dtype {col.dtype}: convert it to numbers, "
                "text, booleans or datetimes"
            )
    if problems:
        raise SchemaError(problems)


def _integer_valued(values: np.ndarray) -> bool:
    return bool(np.all(np.mod(values, 1) == 0))


def _looks_like_id(name: str, col: pd.Series, non_null: pd.Series, is_integer: bool) -> bool:
    n = len(non_null)
    if n < ID_MIN_ROWS or col.isna().any():
        return False
    n_unique = non_null.nunique()
    if is_integer:
        if n_unique / n < ID_UNIQUE_RATIO_INTEGER:
            return False
        values = np.unique(non_null.to_numpy(dtype="float64"))
        consecutive = bool(np.all(np.diff(values) == 1))
        return consecutive or bool(_ID_NAME.search(str(name)))
    return n_unique / n > ID_UNIQUE_RATIO


def detect_kind(name: str, col: pd.Series) -> ColumnKind:
    non_null = col.dropna()
    if pd.api.types.is_bool_dtype(col) or (
        col.dtype == object and len(non_null) and non_null.map(type).isin([bool, np.bool_]).all()
    ):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(col):
        return ColumnKind.DATETIME
    if isinstance(col.dtype, pd.CategoricalDtype) or len(non_null) == 0:
        return ColumnKind.CATEGORICAL
    if pd.api.types.is_numeric_dtype(col):
        values = non_null.to_numpy(dtype="float64")
        n_unique = len(np.unique(values))
        integer = _integer_valued(values)
        if n_unique <= 1 or (integer and n_unique <= MAX_INTEGER_CATEGORIES):
            return ColumnKind.CATEGORICAL
        if integer and pd.api.types.is_integer_dtype(col) and _looks_like_id(name, col, non_null, True):
            return ColumnKind.ID
        return ColumnKind.INTEGER if integer else ColumnKind.CONTINUOUS
    if _looks_like_id(name, col, non_null, False):
        _refuse_disguised_values(name, non_null)
        return ColumnKind.ID
    return ColumnKind.CATEGORICAL


#: text layouts that are dates, times or formatted numbers, not identifiers: an identifier
#: generator would make impossible values of them ('59/83/9485', '$7,197.56')
_DISGUISED = (
    ("dates in a non-ISO layout", r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:[ T].*)?|\d{4}-\d{2}|\d{8}T\d{4,6}.*|"
     r"(?i:.*\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b.*\d{4}.*)",
     "convert them with pd.to_datetime(df[{name!r}], format=...) (ISO 8601 text is read as dates)"),
    ("times of day", r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp][Mm])?",
     "convert them to numbers (e.g. seconds after midnight) or declare the column categorical"),
    ("numbers written with formatting", r"[(\s]*[-+\u2212]?[$\u20ac\u00a3\u00a5]?\s?[\d,.\s']+(?:[eE][-+]?\d+)?\s?%?[)\s]*",
     "convert them with pd.to_numeric after removing the formatting (currency signs, thousands separators)"),
)


def _parses_as(what: str, text: pd.Series) -> bool:
    """Whether every value really is what its layout suggests: '123-45-6789' has a date's
    shape but is no date, '192.168.1.1' a number's but is no number."""
    import warnings

    sample = text.iloc[:2000]
    if what.startswith("dates"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        return bool(parsed.notna().all())
    if what.startswith("numbers"):
        bare = sample.str.replace(r"[$\u20ac\u00a3\u00a5,\s'()%]", "", regex=True).str.replace("\u2212", "-")
        return bool(pd.to_numeric(bare, errors="coerce").notna().all())
    return True


def _refuse_disguised_values(name, values: pd.Series) -> None:
    """A mostly-distinct text column would be an identifier; refuse it by name when its values
    are really dates, times or numbers (``DataError``), rather than generate look-alikes."""
    if not all(isinstance(v, str) for v in values.iloc[:1000]):
        if any(isinstance(v, dt.time) for v in values.iloc[:1000]):
            raise SchemaError([
                f"column {name!r} holds times of day (datetime.time): convert them to numbers (e.g. seconds "
                "after midnight) or declare the column categorical with metadata"
            ])
        return
    text = values.astype(str).str.strip()
    if not text.str.contains(r"\d").all() or text.str.fullmatch(r"\d+").all():
        return  # bare digit strings reaching here have leading zeros: codes (zip, account), kept as ids
    for what, pattern, fix in _DISGUISED:
        if text.str.fullmatch(pattern).all() and _parses_as(what, text):
            raise SchemaError([
                f"column {name!r} holds {what} (e.g. {_examples(values.unique())}), not identifiers: "
                + fix.format(name=name)
                + " (or declare its kind with metadata, e.g. {name!r: 'categorical'})".replace("name!r", repr(name))
            ])



def detect_schema(df: pd.DataFrame, metadata: "Metadata | dict | None" = None) -> Schema:
    """Validate ``df`` and give every column a kind.

    Rules: booleans -> boolean; datetime dtypes -> datetime; pandas categories, all-missing
    and constant columns -> categorical; integer-valued numbers with at most
    ``MAX_INTEGER_CATEGORIES`` distinct values -> categorical (so ``FraudFound_P=1`` can be
    a condition); unique integers that count 1, 2, 3... or whose name says id -> id; other
    whole numbers -> integer; other numbers -> continuous; text that is more than
    ``ID_UNIQUE_RATIO`` distinct -> id; other text -> categorical.
    """
    validate_table(df)
    meta = Metadata.coerce(metadata)
    names = {str(c) for c in df.columns}
    unknown = [name for name in meta.columns if name not in names]
    if unknown:
        raise SchemaError(
            [f"metadata names column {n!r}, which is not in the table" for n in unknown]
        )
    problems, columns = [], []
    for name in df.columns:
        col = df[name]
        override = meta.columns.get(str(name))
        form = None
        if override is None or override.kind in NUMERIC_KINDS:
            try:
                form, canonical = detect_form(name, col)
            except SchemaError as exc:
                problems.extend(exc.problems)
                continue
            if form is not None:
                col = canonical
        kind = override.kind if override else detect_kind(name, col)
        if form is not None and form.is_datetime != (kind is ColumnKind.DATETIME) and kind in NUMERIC_KINDS:
            problems.append(f"column {name!r} holds {form.kind} values but is declared {kind.value}")
            continue
        if kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER) and not (
            pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        ):
            problems.append(f"column {name!r} is declared {kind.value} but holds {col.dtype} values")
            continue
        if kind is ColumnKind.DATETIME and not pd.api.types.is_datetime64_any_dtype(col):
            problems.append(
                f"column {name!r} is declared datetime but has dtype {col.dtype}: "
                f"convert it first with pd.to_datetime(df[{name!r}])"
            )
            continue
        tz = str(col.dt.tz) if kind is ColumnKind.DATETIME and col.dt.tz is not None else None
        cats = None
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = tuple(_plain(v) for v in col.dtype.categories)
        columns.append(
            ColumnSchema(
                name=name,
                kind=kind,
                dtype=str(col.dtype),
                missing_rate=float(col.isna().mean()),
                timezone=tz,
                categories=cats,
                form=form,
            )
        )
    if problems:
        raise SchemaError(problems)
    return Schema(tuple(columns))


def _plain(value):
    """NumPy scalars -> Python scalars, so values survive JSON unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def category_text(value, missing: str) -> str:
    """A category value as text, so 1, 1.0 and "1" (as read from CSV or Parquet) and True and
    "True" compare equal; missing values (None, NaN, NA, NaT) become ``missing``."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return missing
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
        return str(int(value))
    return str(value)
