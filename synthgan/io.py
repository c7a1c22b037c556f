"""Reading tables and writing outputs; every write is atomic (temp file, then rename)."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

from synthgan.errors import ConfigError, DataError, InputFileError

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl") + SQLITE_SUFFIXES
#: table names write_table accepts: plain identifiers, so they need no quoting in anyone's SQL
SQLITE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_table(path: str | os.PathLike, *, table: str | None = None) -> pd.DataFrame:
    """CSV (any UTF-8, BOM or not; ``?`` is not special), Parquet, JSON lines or SQLite -> DataFrame.

    CSV and JSON-lines columns whose every value is an ISO date (``2024-01-31`` or with a
    time) are read as datetimes, so they are modelled as such. A CSV column whose text has
    numbers with leading zeros (zip codes ``02139``, account numbers ``007``) is a code and
    stays text; JSON lines keep the types the file gives (a quoted ``"02139"`` is text).
    A CSV separated by ``;``, tabs or ``|`` instead of commas is recognised (and then a
    column of decimal-comma numbers, ``13,5``, is read as numbers); one whose delimiter
    cannot be told is refused by name rather than read as one column. ``table`` picks a
    table of a SQLite file (it may be left out when the file holds one table).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if table is not None and suffix not in SQLITE_SUFFIXES:
        raise ConfigError(f"table={table!r} applies to SQLite files ({', '.join(SQLITE_SUFFIXES)}), not {str(path)!r}")
    if suffix in SQLITE_SUFFIXES:
        return _read_sqlite(path, table)
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".jsonl":
            # dtype=False: a JSON string stays a string ("02139" is not the number 2139);
            # convert_dates=False: no column is turned into dates for its name alone
            return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    except InputFileError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {str(path)!r} as {suffix[1:]}: {exc}") from None
    raise InputFileError(
        f"{str(path)!r}: unknown table format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}"
    )


#: a number written with a leading zero before another digit: a code (zip, account), not a number
LEADING_ZERO = r"^\s*[+-]?0\d"
#: delimiters tried when a CSV's header has no comma
OTHER_DELIMITERS = (";", "\t", "|")
#: decimal-comma numbers (``13,5``, ``-0,25``, ``1.234,5``) in a file not separated by commas
_DECIMAL_COMMA = r"^[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,\d+)?$"


def _read_csv(path: Path) -> pd.DataFrame:
    sep = _delimiter(path)
    options = dict(sep=sep, encoding="utf-8-sig", skipinitialspace=True)
    df = pd.read_csv(path, **options)
    df.columns = [str(c).strip() for c in df.columns]
    _keep_leading_zeros(df, path, options)
    if sep != ",":
        _decimal_commas(df)
    return df  # ISO date text stays text: synthgan.forms models it as dates and writes the same layout back


def _delimiter(path: Path) -> str:
    """``,`` unless the header has no comma but holds ``;``, a tab or ``|``: then the one
    that splits the first lines into the same number (> 1) of fields."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(64 * 1024)
    if len(sample) == 64 * 1024 and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # the last line may be cut short
    header = sample.splitlines()[0] if sample else ""
    if len(next(csv.reader([header]), [])) > 1:
        return ","
    present = [d for d in OTHER_DELIMITERS if d in header]
    if not present:
        return ","  # a one-column table
    fits = []
    for sep in present:
        rows = csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
        counts = {len(row) for row, _ in zip(rows, range(200)) if row}
        if len(counts) == 1 and counts.pop() > 1:
            fits.append(sep)
    if len(fits) == 1:
        return fits[0]
    if len(fits) > 1:
        try:  # the standard library's sniffer breaks a tie
            return csv.Sniffer().sniff(sample, delimiters="".join(fits)).delimiter
        except csv.Error:
            pass
    shown = " or ".join({";": "';'", "\t": "tabs", "|": "'|'"}[d] for d in present)
    raise InputFileError(
        f"{str(path)!r} reads as one column with commas, but its header holds {shown}; the rows do not "
        "split into the same number of columns by any of them. Save it as a comma-separated CSV "
        "(or fix the rows whose field count differs)"
    )


def _keep_leading_zeros(df: pd.DataFrame, path: Path, options: dict) -> None:
    """Columns read as numbers whose text has a leading zero (``02139``) go back to their text."""
    dtypes = df.dtypes.tolist()
    numeric = [i for i, dtype in enumerate(dtypes) if is_numeric_dtype(dtype) and not is_bool_dtype(dtype)]
    if not numeric:
        return
    raw = pd.read_csv(path, usecols=numeric, dtype=str, **options)  # columns in file order
    for position, i in enumerate(sorted(numeric)):
        text = raw.iloc[:, position]
        if text.str.match(LEADING_ZERO, na=False).any():
            df.isetitem(i, text.str.strip().astype(object))


def _decimal_commas(df: pd.DataFrame) -> None:
    """Text columns of decimal-comma numbers (``13,5``) become floats; ``007`` stays a code."""
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object:
            continue
        text = col.dropna()
        if not len(text) or not all(isinstance(v, str) for v in text):
            continue
        text = text.str.strip()
        if text.str.match(LEADING_ZERO).any() or not text.str.contains(",").any():
            continue
        if text.str.match(_DECIMAL_COMMA).all():
            numbers = col.str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
            df.isetitem(i, pd.to_numeric(numbers))


def write_table(
    df: pd.DataFrame, path: str | os.PathLike, *, table: str | None = None, if_exists: str = "fail"
) -> Path:
    """Write ``df`` by suffix (.csv, .parquet, .jsonl, .sqlite/.sqlite3/.db), atomically.

    SQLite (standard library ``sqlite3``): ``df`` becomes the table ``table`` (default: the
    file's stem, e.g. ``customers`` for ``customers.sqlite``) of a new or existing database;
    other tables in the file are kept. A table of that name already there is an error unless
    ``if_exists="replace"``, so a fixture database is never overwritten by accident.
    Datetimes are stored as ISO 8601 text (with their UTC offset when time-zone aware),
    booleans as 0/1, categories as their text; missing values as NULL.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{str(path)!r}: unknown output format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")
    if suffix in SQLITE_SUFFIXES:
        return _write_sqlite(df, path, table, if_exists)
    if table is not None or if_exists != "fail":
        raise ConfigError(
            f"table= and if_exists= apply to SQLite outputs ({', '.join(SQLITE_SUFFIXES)}), not {str(path)!r}"
        )
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix == ".jsonl":
            df.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        else:
            df.to_parquet(tmp, index=False)
    return path


# -- SQLite --------------------------------------------------------------------------------
def _fold(name: str) -> str:
    """SQLite compares identifiers ignoring the case of ASCII letters only."""
    return "".join(c.lower() if c.isascii() else c for c in name)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_table_name(path: Path, table: str | None) -> str:
    """``table``, or the file's stem, checked to be a plain SQL identifier."""
    name = path.stem if table is None else table
    if not isinstance(name, str) or not SQLITE_NAME.match(name) or name.lower().startswith("sqlite_"):
        given = f"table={name!r}" if table is not None else f"the file name {path.name!r} (no table= given)"
        raise ConfigError(
            f"{given}: a SQLite table name must be letters, digits and underscores, start with a letter "
            "or underscore, be at most 128 characters and not start with 'sqlite_' (e.g. table='customers')"
        )
    return name


def _sqlite_column(name: str, series: pd.Series) -> tuple[str, list]:
    """(declared type, Python values) of one column; missing values become None (NULL)."""
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    kind = infer_dtype(series, skipna=True)
    if kind == "boolean":
        decl, convert = "BOOLEAN", lambda v: int(bool(v))
    elif kind == "integer":
        decl, convert = "INTEGER", int
        present = series[~missing]
        if len(present) and (present.max() > 2**63 - 1 or present.min() < -(2**63)):
            raise DataError(f"column {name!r}: integers beyond the 64-bit range cannot be stored in SQLite")
    elif kind in ("floating", "mixed-integer-float", "decimal"):
        decl, convert = "REAL", float
    elif kind in ("datetime64", "datetime", "date"):
        decl, convert = "TIMESTAMP", lambda v: pd.Timestamp(v).isoformat()
    elif kind in ("timedelta64", "timedelta"):
        decl, convert = "TEXT", lambda v: pd.Timedelta(v).isoformat()
    elif kind == "bytes":
        decl, convert = "BLOB", bytes
    else:  # text, categories (stored as their text) and mixed values
        decl, convert = "TEXT", str
    return decl, [None if gone else convert(v) for v, gone in zip(values, missing)]


def _sqlite_columns(df: pd.DataFrame) -> list[tuple[str, str, list]]:
    names = [str(c) for c in df.columns]
    if not names:
        raise DataError("the table has no columns; SQLite cannot store a table without columns")
    seen: dict[str, str] = {}
    for name in names:
        if not name or "\x00" in name:
            raise DataError(f"column {name!r}: SQLite column names must be non-empty and free of NUL characters")
        if _fold(name) in seen:
            raise DataError(
                f"columns {seen[_fold(name)]!r} and {name!r} collide in SQLite, where names ignore case; rename one"
            )
        seen[_fold(name)] = name
    return [(name, *_sqlite_column(name, df.iloc[:, i])) for i, name in enumerate(names)]


def _copy_database(source: Path, target: Path) -> str:
    """Copy the database ``source`` into ``target`` (a consistent snapshot); return its journal mode."""
    try:
        src = sqlite3.connect(source)
        try:
            mode = src.execute("PRAGMA journal_mode").fetchone()[0]
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{str(source)!r} exists but is not a SQLite database ({exc}); choose another file") from None
    if Path(f"{source}-wal").exists():
        raise ConfigError(
            f"{str(source)!r} is open in another process (its -wal file exists); close it before writing a table"
        )
    return mode


def _write_sqlite(df: pd.DataFrame, path: Path, table: str | None, if_exists: str) -> Path:
    if if_exists not in ("fail", "replace"):
        raise ConfigError(f"if_exists={if_exists!r}: expected 'fail' (the default) or 'replace'")
    name = sqlite_table_name(path, table)
    columns = _sqlite_columns(df)
    with atomic_path(path) as tmp:
        mode = _copy_database(path, tmp) if path.exists() else None
        con = sqlite3.connect(tmp)
        try:
            with con:
                found = con.execute(
                    "SELECT type, name FROM sqlite_master WHERE name = ? COLLATE NOCASE", (name,)
                ).fetchone()
                if found and (found[0] != "table" or if_exists == "fail"):
                    hint = "pick another name"
                    if found[0] == "table":
                        hint = "pass if_exists='replace' (CLI: --replace) to overwrite it"
                    raise ConfigError(f"{str(path)!r} already has a {found[0]} named {found[1]!r}; {hint}")
                if found:
                    con.execute(f"DROP TABLE {_quote(found[1])}")
                decls = ", ".join(f"{_quote(col)} {decl}" for col, decl, _ in columns)
                con.execute(f"CREATE TABLE {_quote(name)} ({decls})")
                marks = ", ".join("?" * len(columns))
                rows = zip(*(values for _, _, values in columns))
                con.executemany(f"INSERT INTO {_quote(name)} VALUES ({marks})", rows)
            if mode is not None and mode.lower() == "wal":
                con.execute("PRAGMA journal_mode=WAL")  # keep the database's own setting
        finally:
            con.close()
    return path


def _read_sqlite(path: Path, table: str | None) -> pd.DataFrame:
    """One table; ``BOOLEAN`` and ``TIMESTAMP`` columns (as written by ``write_table``) get their types back."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputFileError(f"cannot open {str(path)!r} as SQLite: {exc}") from None
    try:
        try:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        except sqlite3.DatabaseError as exc:
            raise InputFileError(f"cannot read {str(path)!r} as SQLite: {exc}") from None
        names = [n for n in names if not n.lower().startswith("sqlite_")]
        if table is None:
            if len(names) != 1:
                raise InputFileError(
                    f"{str(path)!r} holds {len(names)} tables ({', '.join(names) or 'none'}); name one with table="
                )
            table = names[0]
        match = [n for n in names if _fold(n) == _fold(str(table))]
        if not match:
            raise InputFileError(f"{str(path)!r} has no table {table!r}; its tables: {', '.join(names) or 'none'}")
        table = match[0]
        decls = {row[1]: str(row[2]).upper() for row in con.execute(f"PRAGMA table_info({_quote(table)})")}
        df = pd.read_sql_query(f"SELECT * FROM {_quote(table)}", con)
    finally:
        con.close()
    for col, decl in decls.items():
        if df[col].dtype == object:
            df[col] = df[col].where(df[col].notna(), np.nan)  # NULL -> NaN, as read_csv gives
        if decl == "BOOLEAN":
            flags = df[col].map({1: True, 0: False})
            df[col] = flags.astype(bool) if df[col].notna().all() else flags.astype(object)
        elif decl == "TIMESTAMP":
            text = df[col].dropna().astype(str)
            offsets = bool(text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").any())
            try:
                df[col] = pd.to_datetime(df[col], format="ISO8601", utc=offsets)
            except (ValueError, TypeError):
                pass  # not ISO text after all: stays text
    return df
