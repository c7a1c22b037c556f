"""Reading tables and writing outputs; every write is atomic (temp file, then rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from synthgan.errors import DataError, InputFileError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl")


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


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """CSV (any UTF-8, BOM or not; ``?`` is not special), Parquet or JSON lines -> DataFrame.

    CSV columns whose every value is an ISO date (``2024-01-31`` or with a time) are read as
    datetimes, so they are modelled as such.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, encoding="utf-8-sig", skipinitialspace=True)
            df.columns = [str(c).strip() for c in df.columns]
            return _parse_iso_dates(df)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(f"cannot read {str(path)!r} as {suffix[1:]}: {exc}") from None
    raise InputFileError(
        f"{str(path)!r}: unknown table format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}"
    )


def _parse_iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    pattern = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
    for name in df.columns:
        col = df[name]
        if col.dtype != object:
            continue
        text = col.dropna()
        if len(text) and text.astype(str).str.match(pattern).all():
            try:
                offsets = text.astype(str).str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").any()
                df[name] = pd.to_datetime(col, format="ISO8601", utc=bool(offsets))
            except (ValueError, TypeError):
                pass  # not one consistent datetime column after all: stays text
    return df


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` by suffix (.csv, .parquet, .jsonl), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{str(path)!r}: unknown output format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}")
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix == ".jsonl":
            df.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        else:
            df.to_parquet(tmp, index=False)
    return path
