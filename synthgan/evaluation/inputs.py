"""The boundary of :func:`synthgan.evaluate`: tables that can be compared, a target that can be learned.

Every problem with the tables is collected and raised at once (a :class:`SchemaError` that
lists them), before any metric runs.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgan.errors import ConfigError, DataError, EvaluationWarning, SchemaError, listing
from synthgan.evaluation.columns import wrong_type
from synthgan.forms import to_canonical
from synthgan.schema import ColumnKind, Schema, detect_schema

TASKS = ("classification", "regression")
CLASSIFICATION_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
REGRESSION_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)


@dataclass(frozen=True)
class Tables:
    """Real, synthetic and holdout tables with the same columns in the same order (copies)."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    schema: Schema  # of the real table, over the compared columns
    dropped: tuple = ()  # identifier columns of the real table that the synthetic one leaves out
    overlap: int = 0  # holdout rows that also occur, identically, in the real table
    #: synthetic columns of another type than the real ones (ColumnProblem, WRONG_TYPE), already
    #: converted to the real column's type in ``synthetic``; the fidelity verdict counts them
    converted: tuple = ()


@dataclass(frozen=True)
class Target:
    name: str
    task: str  # one of TASKS
    classes: tuple = ()  # classification: the real table's classes, sorted
    minority: object = None  # classification: the class augmentation adds rows of


def family(series: pd.Series) -> str:
    """What kind of values a column holds, coarsely: number, boolean, datetime, text or empty."""
    if series.isna().all():
        return "empty"
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return family(pd.Series(dtype.categories)) if len(dtype.categories) else "empty"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    values = series.dropna()
    if values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return "boolean"
    return "text"


def _column_problems(
    real: pd.DataFrame, other: pd.DataFrame, name: str, optional: set, check_types: bool = True
) -> list[str]:
    problems = []
    dupes = other.columns[other.columns.duplicated()].unique().tolist()
    if dupes:
        problems.append(f"the {name} table has duplicate column names {dupes}")
    missing = [c for c in real.columns if c not in other.columns and c not in optional]
    extra = [c for c in other.columns if c not in real.columns]
    if missing:
        problems.append(f"column(s) {missing} of the real table are missing from the {name} table")
    if extra:
        problems.append(f"column(s) {extra} of the {name} table are not in the real table")
    for col in real.columns:
        if check_types and col in other.columns and not dupes:
            ours, theirs = family(real[col]), family(other[col])
            if "empty" not in (ours, theirs) and ours != theirs:
                problems.append(
                    f"column {col!r} holds {ours} values ({real[col].dtype}) in the real table but "
                    f"{theirs} values ({other[col].dtype}) in the {name} table: convert one of them"
                )
    return problems


def _canonical(schema: Schema, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the real table's forms made canonical where its values allow; a column
    that does not parse is left as it is, for the type checks to name."""
    out = df
    for col in schema.columns:
        if col.form is not None and col.name in df.columns:
            try:
                values = to_canonical(df[col.name], col.form, col.name)
            except SchemaError:
                continue
            out = out.copy(deep=False) if out is df else out
            out[col.name] = values
    return out


def _check_frame(df, name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"the {name} table must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DataError(f"the {name} table is empty (0 rows); there is nothing to evaluate")


def count_overlap(real: pd.DataFrame, holdout: pd.DataFrame) -> int:
    """Holdout rows identical to some real row (all compared columns equal)."""
    cols = list(holdout.columns)
    seen = set(pd.util.hash_pandas_object(real[cols], index=False).to_numpy().tolist())
    hashes = pd.util.hash_pandas_object(holdout[cols], index=False).to_numpy()
    return int(sum(h in seen for h in hashes.tolist()))


def check_tables(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    metadata=None,
) -> Tables:
    """Validate the tables and return aligned copies; raise one error listing every problem.

    Identifier columns of the real table may be missing from the synthetic or holdout table (a
    model fitted with ``id_columns="drop"``); they are left out of the comparison.

    A synthetic column of another type than the real one (numbers held as text, text in a
    numeric column) is what is being judged, not a mistake of the caller: it is converted to
    the real column's type (what cannot be read becomes missing) and recorded in
    ``Tables.converted``, which the fidelity section names and rates "poor". The holdout is
    real data: a holdout column of another type is an error.
    """
    _check_frame(real, "real")
    _check_frame(synthetic, "synthetic")
    if holdout is not None:
        _check_frame(holdout, "holdout")
    schema = detect_schema(real, metadata)
    # dates as text or objects, Decimals...: compared as datetimes and numbers (synthgan.forms)
    real, synthetic = schema.canonical(real), _canonical(schema, synthetic)
    holdout = None if holdout is None else _canonical(schema, holdout)
    ids = {c.name for c in schema.columns if c.kind is ColumnKind.ID}
    problems = _column_problems(real, synthetic, "synthetic", optional=ids, check_types=False)
    if holdout is not None:
        problems += [f"holdout: {p}" for p in _column_problems(real, holdout, "holdout", optional=ids)]
    if problems:
        raise SchemaError(problems)
    others = [synthetic] if holdout is None else [synthetic, holdout]
    dropped = tuple(c for c in real.columns if any(c not in df.columns for df in others))
    kept = [c for c in real.columns if c not in dropped]
    schema = Schema(tuple(c for c in schema.columns if c.name in kept))
    holdout = holdout[kept].copy() if holdout is not None else None
    synthetic, converted = _convert_types(real[kept], synthetic[kept].copy())
    overlap = count_overlap(real[kept], holdout) if holdout is not None else 0
    if overlap:
        warnings.warn(
            f"{overlap} of {len(holdout)} holdout rows also occur in the real (training) table; "
            "utility scores on this holdout are optimistic",
            EvaluationWarning,
            stacklevel=3,
        )
    return Tables(real[kept].copy(), synthetic, holdout, schema, dropped, overlap, converted)


def _convert_types(real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[pd.DataFrame, tuple]:
    """Synthetic columns of another family than the real ones, read as the real family."""
    converted = []
    for i, col in enumerate(real.columns):
        ours, theirs = family(real.iloc[:, i]), family(synthetic.iloc[:, i])
        if "empty" in (ours, theirs) or ours == theirs:
            continue
        values, problem = wrong_type(col, real.iloc[:, i], synthetic.iloc[:, i], ours, theirs)
        synthetic.isetitem(i, values)
        converted.append(problem)
    return synthetic, tuple(converted)


def check_target_present(target, tables: dict[str, pd.DataFrame | None]) -> None:
    """A target must be a column of every table given; say which table lacks it."""
    for name, df in tables.items():
        if df is not None and isinstance(df, pd.DataFrame) and target not in df.columns:
            close = difflib.get_close_matches(str(target), [str(c) for c in df.columns], n=3)
            hint = f"; did you mean {close}?" if close else f"; its columns are {listing(df.columns)}"
            raise DataError(f"target {target!r} is not a column of the {name} table{hint}")


def label_values(series: pd.Series) -> np.ndarray:
    """Class labels as one scikit-learn-friendly dtype: int, bool, or text (NaN kept as None).

    1, 1.0 and np.int64(1) are the same class, whether read from Parquet or CSV.
    """
    values = []
    for v in series.astype(object).tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            values.append(None)
        elif isinstance(v, (bool, np.bool_)):
            values.append(bool(v))
        elif isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
            values.append(int(v))
        else:
            values.append(v)
    present = [v for v in values if v is not None]
    if all(type(v) is int for v in present):
        kind = int
    elif all(type(v) is bool for v in present):
        kind = bool
    else:
        kind = str
        values = [None if v is None else str(v) for v in values]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    if present and kind in (int, bool) and None not in values:
        return out.astype(np.int64 if kind is int else bool)
    return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def resolve_target(tables: Tables, target, task: str | None = None, minority=None) -> Target:
    """Infer classification or regression from the target's kind (``task`` overrides it)."""
    col = tables.schema[target] if target in tables.schema.names else None
    if col is None:
        raise DataError(f"target {target!r} is an identifier column left out of the synthetic table")
    if task is not None and task not in TASKS:
        raise ConfigError(f"evaluate: task={task!r} is not one of {list(TASKS)}")
    if task is None:
        if col.kind in CLASSIFICATION_KINDS:
            task = "classification"
        elif col.kind in REGRESSION_KINDS:
            task = "regression"
        else:
            raise ConfigError(
                f"target {target!r} is a {col.kind.value} column; pass task='classification' or "
                "task='regression' to say how to learn it, or choose another target"
            )
    if task == "regression":
        if minority is not None:
            raise ConfigError(
                f"evaluate: minority={minority!r} applies to classification; target {target!r} is a regression target"
            )
        if family(tables.real[target]) != "number":
            raise DataError(f"target {target!r} holds {family(tables.real[target])} values; regression needs numbers")
        return Target(target, task)
    labels = label_values(tables.real[target])
    present = pd.Series([v for v in labels if v is not None], dtype=object)
    counts = present.value_counts()
    if len(counts) < 2:
        only = list(counts.index)
        raise DataError(
            f"target {target!r} has {len(counts)} class(es) {only} in the real table; "
            "a classifier needs at least two"
        )
    classes = tuple(sorted((_plain(c) for c in counts.index), key=lambda v: (str(type(v)), v)))
    counts.index = [_plain(c) for c in counts.index]
    if minority is None:
        rarest = counts[counts == counts.min()].index
        minority = sorted(rarest, key=lambda v: (str(type(v)), v))[0]
    else:
        matches = [c for c in classes if c == minority or str(c) == str(minority)]
        if not matches:
            raise ConfigError(
                f"evaluate: minority={minority!r} is not a class of target {target!r}; classes are {list(classes)}"
            )
        minority = matches[0]
    return Target(target, task, classes, minority)
