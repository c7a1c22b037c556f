"""How a column carries its values, and the canonical dtype the model works on instead.

Real tables hold dates and numbers in more ways than pandas' own dtypes: ``datetime.date``
objects (what pyarrow gives for a Parquet ``date32`` column), ISO 8601 text
(``"2020-03-13"``, ``"2020-03-13T09:54:06+02:00"``), ``pd.Timestamp`` / ``datetime``
objects in an object column, ``decimal.Decimal`` (what SQL ``NUMERIC`` columns give) and
numbers written as text. :func:`detect_form` recognises each of them in an object (or
string) column and gives a :class:`Form`; :func:`to_canonical` turns such a column into a
pandas datetime64 or float64 column, and :func:`from_canonical` turns generated values back
into the same form: date objects stay dates, ISO text keeps its layout and offset, Decimals
keep their decimals. Text with leading zeros (``"02139"``) is a code, not a number, and is
left alone.

What cannot be carried faithfully is refused by name (:class:`~synthgan.errors.SchemaError`):
datetime objects in several time zones, ISO text mixing values with and without an offset,
Decimals with more significant digits than float64 holds (15). ISO text with several
offsets (one zone across daylight saving time) is modelled as UTC instants and written back
with ``+00:00``, with a warning that says so.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from synthgan.errors import SchemaError, SynthGANWarning

#: the forms; ``None`` on a column means its dtype is already canonical
FORMS = ("date", "datetime", "iso", "decimal", "number_text")
#: float64 carries this many significant decimal digits exactly
FLOAT_DIGITS = 15

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:(?P<sep>[T ])(?P<hm>\d{2}:\d{2})(?P<sec>:\d{2})?(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$"
)
#: plain decimal numbers as text; a leading zero before another digit makes it a code
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


@dataclass(frozen=True)
class Form:
    """A non-canonical way a column holds its values (see the module docstring).

    ``kind``: one of :data:`FORMS`. For ``"iso"``: ``sep`` (``"T"`` or ``" "``, ``""`` for
    dates alone), ``seconds`` (whether ``:SS`` is written), ``fraction`` (digits after the
    seconds), ``offset`` (the offset text as written, e.g. ``"Z"``, ``"+02:00"``; ``""`` for
    naive text). For ``"decimal"`` and ``"number_text"``: ``decimals`` written.
    ``"datetime"``: ``timestamps`` tells pandas Timestamps from ``datetime.datetime``.
    """

    kind: str
    sep: str = ""
    seconds: bool = False
    fraction: int = 0
    offset: str = ""
    decimals: int = 0
    timestamps: bool = False
    utc: bool = False  # "iso" text with several offsets, modelled as UTC instants

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> "Form | None":
        if data is None:
            return None
        if data.get("kind") not in FORMS:
            raise ValueError(f"unknown column form {data.get('kind')!r}")
        return cls(**data)

    @property
    def is_datetime(self) -> bool:
        return self.kind in ("date", "datetime", "iso")


def _types(values: pd.Series) -> set:
    return set(pd.unique(values.map(type)))


def detect_form(name, col: pd.Series) -> tuple[Form | None, pd.Series | None]:
    """``(form, canonical column)`` for an object/string column holding dates or numbers.

    ``(None, None)`` when the column is not one of the recognised forms. Raises
    ``SchemaError`` naming the column when it is one but cannot be carried faithfully.
    """
    if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
        return None, None
    values = col.dropna()
    if len(values) == 0:
        return None, None
    types = _types(values)
    if all(issubclass(t, dt.datetime) for t in types):
        return _datetime_objects(name, col, values, types)
    if all(issubclass(t, dt.date) and not issubclass(t, dt.datetime) for t in types):
        return Form("date"), _to_datetime(name, col)
    if all(issubclass(t, decimal.Decimal) for t in types):
        return _decimals(name, col, values)
    if all(issubclass(t, str) for t in types):
        text = values.astype(str)
        if text.str.match(_ISO).all():
            return _iso(name, col, text)
        if text.str.match(_NUMBER).all() and not text.str.match(_LEADING_ZERO).any():
            decimals = int(text.str.extract(r"\.(\d*)$")[0].fillna("").str.len().max())
            return Form("number_text", decimals=decimals), pd.to_numeric(col).astype("float64")
    return None, None


def _datetime_objects(name, col, values, types) -> tuple[Form, pd.Series]:
    zones = set(pd.unique(values.map(lambda v: None if v.tzinfo is None else str(v.tzinfo))))
    if len(zones) > 1:
        shown = ", ".join(sorted("naive" if z is None else z for z in zones))
        raise SchemaError([
            f"column {name!r} holds datetimes in several time zones ({shown}); convert them to one "
            f"first, e.g. df[{name!r}] = pd.to_datetime(df[{name!r}], utc=True)"
        ])
    timestamps = all(issubclass(t, pd.Timestamp) for t in types)
    return Form("datetime", timestamps=timestamps), _to_datetime(name, col)


def _to_datetime(name, col: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(col)
    except (ValueError, OverflowError) as exc:  # OutOfBoundsDatetime: outside 1677..2262
        raise SchemaError([
            f"column {name!r} holds dates outside the range pandas datetimes hold (1677-09-21 to 2262-04-11): {exc}; "
            "convert them (e.g. to years as numbers) or declare the column categorical"
        ]) from None


def _decimals(name, col, values) -> tuple[Form, pd.Series]:
    bad = [v for v in values if not v.is_finite() and not v.is_nan()]
    if bad:
        raise SchemaError([f"column {name!r} holds non-finite Decimals ({bad[0]!r}); replace them with None"])
    values = values[[v.is_finite() for v in values]]  # Decimal('NaN') is missing
    if len(values) == 0:
        return None, None
    exponents = np.array([v.as_tuple().exponent for v in values], dtype=np.int64)
    decimals = int(max(0, -exponents.min()))
    digits = max(len(v.as_tuple().digits) for v in values)
    if digits > FLOAT_DIGITS:
        raise SchemaError([
            f"column {name!r} holds Decimals with {digits} significant digits; float64 keeps {FLOAT_DIGITS}, so "
            "they cannot be generated faithfully: round them (or declare the column categorical) first"
        ])
    return Form("decimal", decimals=decimals), col.map(lambda v: np.nan if pd.isna(v) else float(v)).astype("float64")


def _iso(name, col, text: pd.Series) -> tuple[Form, pd.Series]:
    parts = text.str.extract(_ISO)
    offsets = set(parts["offset"].fillna(""))
    utc = False
    if len(offsets) > 1:
        shown = ", ".join(sorted(o or "none" for o in offsets))
        if "" in offsets:  # some values name no offset: which instant they mean is unknown
            raise SchemaError([
                f"column {name!r} mixes ISO datetimes with and without a UTC offset ({shown}); give every value "
                f"an offset or none, e.g. df[{name!r}] = pd.to_datetime(df[{name!r}], utc=True)"
            ])
        # one zone across daylight saving time, say: the instants are kept, written back in UTC
        warnings.warn(
            f"column {name!r} holds ISO datetimes with several UTC offsets ({shown}): it is modelled as UTC "
            "instants and written back with the offset +00:00",
            SynthGANWarning, stacklevel=4,
        )
        offsets, utc = {"+00:00"}, True
    (offset,) = offsets
    has_time = parts["sep"].notna()
    sep = parts.loc[has_time, "sep"].mode().iloc[0] if has_time.any() else ""
    seconds = bool(parts["sec"].notna().any())
    fraction = int(parts["frac"].fillna("").str.len().max())
    try:
        canonical = pd.to_datetime(col, format="ISO8601", utc=utc)
    except (ValueError, OverflowError) as exc:
        raise SchemaError([f"column {name!r} looks like ISO dates but does not parse as dates: {exc}"]) from None
    return Form("iso", sep=sep, seconds=seconds, fraction=fraction, offset=offset, utc=utc), canonical


def to_canonical(values: pd.Series, form: Form | None, name=None) -> pd.Series:
    """One column in ``form`` -> its canonical datetime64 / float64 column (same index).

    Values already canonical (e.g. rows this library generated and a user converted) pass
    through. Raises ``SchemaError`` naming the column when values do not fit the form.
    """
    if form is None:
        return values
    name = values.name if name is None else name
    try:
        if form.is_datetime:
            if pd.api.types.is_datetime64_any_dtype(values):
                return values
            if form.kind == "iso":
                return pd.to_datetime(values, format="ISO8601", utc=form.utc)
            return pd.to_datetime(values)
        if pd.api.types.is_float_dtype(values):
            return values
        if form.kind == "decimal":
            return values.map(lambda v: np.nan if pd.isna(v) else float(v)).astype("float64")
        return pd.to_numeric(values).astype("float64")
    except (ValueError, TypeError, decimal.InvalidOperation) as exc:
        raise SchemaError([f"column {name!r} was fitted as {form.kind} values but holds {values.dtype}: {exc}"]) from None


def from_canonical(values: pd.Series, form: Form | None) -> pd.Series:
    """Generated canonical values (datetime64 / float64) -> the column's own form."""
    if form is None:
        return values
    missing = values.isna().to_numpy()
    if form.kind == "date":
        out = pd.Series(values.dt.date, dtype=object)
    elif form.kind == "datetime":
        out = values.astype(object)
        if not form.timestamps:  # a list: pandas would infer datetime64 from a Series of datetimes
            out = pd.Series([None if pd.isna(t) else t.to_pydatetime() for t in out], dtype=object)
    elif form.kind == "iso":
        out = _iso_text(values, form)
    elif form.kind == "decimal":
        quantum = decimal.Decimal(1).scaleb(-form.decimals)
        out = pd.Series([None if m else decimal.Decimal(repr(float(v))).quantize(quantum)
                         for v, m in zip(values.to_numpy(), missing)], dtype=object)
    else:  # number_text
        out = pd.Series([None if m else f"{v:.{form.decimals}f}" for v, m in zip(values.to_numpy(), missing)],
                        dtype=object)
    out.index = values.index
    out[missing] = None
    return out


def _iso_text(values: pd.Series, form: Form) -> pd.Series:
    layout = "%Y-%m-%d"
    if form.sep:
        layout += form.sep + "%H:%M" + (":%S" if form.seconds or form.fraction else "")
    text = values.dt.strftime(layout)
    if form.fraction:
        micros = values.dt.strftime("%f").str.slice(0, min(form.fraction, 6))
        if form.fraction > 6:
            micros = micros + values.dt.nanosecond.astype(str).str.zfill(3).str.slice(0, form.fraction - 6)
        text = text + "." + micros
    text = text + form.offset
    return pd.Series(text.astype(object), index=values.index)
