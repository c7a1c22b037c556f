"""What every built-in constraint shares: the validate / fit / transform / reverse contract,
the offending-rows message, JSON state, and names for new columns that cannot clash.

The contract (after SDV's constraint classes; our own code):

- ``validate(df)``: raises :class:`ConstraintError` naming the first offending rows;
- ``is_valid(df) -> np.ndarray[bool]``: one flag per row;
- ``fit(df)``: validates, then learns what the transform needs (dtypes, seen combinations...);
- ``transform(df) -> df``: reparameterises the constraint's columns so that *any* values of
  the new columns map back to rows that obey the rule;
- ``reverse_transform(df) -> df``: the inverse; exact on transformed training data (integers
  and datetimes bit for bit, floats to their observed decimals), dtypes restored;
- ``to_json()`` / :func:`constraint_from_json`: parameters plus fitted state, no code.

None of them modifies the caller's DataFrame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgan.constraints.errors import ConstraintError
from synthgan.errors import ConfigError, ModelFileError, NotFittedError

#: offending rows shown in an error message
MAX_LISTED_ROWS = 5

_REGISTRY: dict[str, type["Constraint"]] = {}


class Constraint:
    """Base class of the built-in constraints (users write custom ones with the duck-typed
    protocol of :class:`~synthgan.constraints.ConstraintSet`, not by subclassing)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # -- description ----------------------------------------------------------------------
    @property
    def columns(self) -> tuple:
        """The columns the constraint reads (and, when transformed, replaces)."""
        raise NotImplementedError

    @property
    def replaced_columns(self) -> tuple:
        """The columns whose values ``reverse_transform`` writes (the others it only reads)."""
        return self.columns

    @property
    def rule(self) -> str:
        """The rule in words, for messages (``"admitted <= discharged"``)."""
        raise NotImplementedError

    @property
    def transformable(self) -> bool:
        """False means the constraint can only be enforced by rejecting rows."""
        return True

    @property
    def name(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def params(self) -> dict:
        """Constructor arguments (JSON-able after :meth:`_params_to_json`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.params() == self.params()

    def __hash__(self) -> int:
        return hash(self.name)

    # -- checks ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Raise ConfigError for constructor arguments that cannot work (checked at use, as
        scikit-learn does, so that constructors only store)."""

    def _check_table(self, df: pd.DataFrame) -> None:
        """Raise ConstraintError when ``df`` lacks a column or holds one of the wrong kind."""
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"{self.name}: expected a pandas DataFrame, got {type(df).__name__}")
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ConstraintError(
                [f"{self.name} reads column(s) {missing}, which the table does not have "
                 f"(columns: {list(df.columns)[:20]})"]
            )

    def _row_mask(self, df: pd.DataFrame) -> np.ndarray:
        """One bool per row, on a table already checked."""
        raise NotImplementedError

    def is_valid(self, df: pd.DataFrame) -> np.ndarray:
        """``np.ndarray[bool]`` of shape ``(len(df),)``: True where the row obeys the rule.

        Raises ConfigError (bad parameters) or ConstraintError (a missing or unusable column).
        """
        self._check_params()
        self._check_table(df)
        return np.asarray(self._row_mask(df), dtype=bool)

    def validate(self, df: pd.DataFrame) -> None:
        """Raise :class:`ConstraintError` listing the first offending rows (index labels and
        values, at most ``MAX_LISTED_ROWS``) and their count when ``df`` breaks the rule."""
        mask = self.is_valid(df)
        if not mask.all():
            raise offending_rows_error(self.name, self.rule, df, mask, self.columns)

    # -- fit / transform ------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> "Constraint":
        """Validate ``df`` (the real table) and learn the transform's state. Returns self."""
        self.validate(df)
        self._fit(df)
        self.fitted_ = True
        return self

    def _fit(self, df: pd.DataFrame) -> None:
        pass

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{self.name} is not fitted: call fit(df) first")

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Reparameterised copy of ``df`` (other columns untouched, new ones appended)."""
        self._check_fitted()
        self._check_table(df)
        return self._transform(df.copy())

    def reverse_transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Copy of ``df`` with the constraint's columns restored from the new ones; every row
        obeys the rule whatever values the new columns hold (missing values aside: see
        each class). Raises ConstraintError when a new column is absent."""
        self._check_fitted()
        missing = [c for c in self.output_columns() if c not in df.columns]
        if missing:
            raise ConstraintError(
                [f"{self.name}: reverse_transform needs column(s) {missing}, made by its transform"]
            )
        return self._reverse(df.copy())

    def _transform(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def _reverse(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def output_columns(self) -> list:
        """Columns the transform adds (fitted); the generator models these instead."""
        return list(self.output_kinds())

    def output_kinds(self) -> dict:
        """``{new column: column kind}`` ("continuous", "integer", "categorical"), so the
        synthesizer can state each new column's kind instead of guessing it. Columns the
        transform keeps under their own name (e.g. a column kept only on rows with a missing
        value, see :class:`~synthgan.constraints.Inequality`) are not listed."""
        self._check_fitted()
        return dict(self.kinds_)

    # -- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        """``{"type", "params", "state"}``; state is None before fit."""
        state = self._state_to_json() if getattr(self, "fitted_", False) else None
        return {"type": type(self).__name__, "params": self._params_to_json(), "state": state}

    def _params_to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.params().items()}

    @classmethod
    def _from_params(cls, params: dict) -> "Constraint":
        return cls(**params)

    def _state_to_json(self) -> dict:
        raise NotImplementedError

    def _state_from_json(self, state: dict) -> None:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: dict) -> "Constraint":
        """Rebuild a constraint saved with :meth:`to_json` (any built-in, whatever ``cls``)."""
        return constraint_from_json(data)


def constraint_from_json(data: dict) -> Constraint:
    """A built-in constraint from :meth:`Constraint.to_json`'s dict; ModelFileError when the
    type is unknown or the state does not fit it."""
    try:
        kind = data["type"]
        cls = _REGISTRY.get(kind)
        if cls is None:
            raise ModelFileError(
                f"unknown constraint type {kind!r} in the model file (known: {sorted(_REGISTRY)})"
            )
        constraint = cls._from_params(dict(data["params"]))
        if data.get("state") is not None:
            constraint._state_from_json(data["state"])
            constraint.fitted_ = True
        return constraint
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"constraint state in the model file is inconsistent ({exc!r}): {data!r}"[:500]) from None


def offending_rows_error(name: str, rule: str, df: pd.DataFrame, mask: np.ndarray, columns) -> ConstraintError:
    """ConstraintError naming how many rows break ``rule`` and the first ones, by index label
    with their values in ``columns``."""
    bad = np.flatnonzero(~mask)
    labels = [_plain(df.index[i]) for i in bad[:MAX_LISTED_ROWS]]
    shown = []
    for i, label in zip(bad[:MAX_LISTED_ROWS], labels):
        values = ", ".join(f"{c}={_plain(df[c].iloc[i])!r}" for c in columns if c in df.columns)
        shown.append(f"[{label!r}] {values}")
    more = f" (and {len(bad) - len(shown)} more)" if len(bad) > len(shown) else ""
    problem = (
        f"{name}: {len(bad)} of {len(df)} row(s) break the rule {rule}; first: "
        + "; ".join(shown) + more
        + ". Fix or drop these rows, or leave the constraint out"
    )
    return ConstraintError([problem], {name: (len(bad), labels)})


def _plain(value):
    """NumPy scalars -> Python scalars, so messages read ``5``, not ``np.int64(5)``."""
    return value.item() if isinstance(value, np.generic) else value


def unique_name(base: str, taken) -> str:
    """``base``, or ``base#2``, ``base#3``... whichever is not in ``taken``."""
    taken = {str(t) for t in taken}
    if base not in taken:
        return base
    i = 2
    while f"{base}#{i}" in taken:
        i += 1
    return f"{base}#{i}"


def check_column_names(owner: str, param: str, value, minimum: int = 1) -> tuple:
    """A list/tuple of at least ``minimum`` distinct column names -> tuple, else ConfigError."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{owner}: {param} must be a list of column names, got {value!r}")
    if len(value) < minimum:
        raise ConfigError(f"{owner}: {param} needs at least {minimum} column names, got {list(value)!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{owner}: {param} names a column twice: {list(value)!r}")
    return tuple(value)
