"""Several constraints applied together, custom ones included, and saved as JSON.

Custom constraint protocol (duck-typed; no base class needed)::

    class WeekdayOnly:
        name = "weekday_only"                      # required, unique in the set
        columns = ("visit",)                       # required when it has a transform
        def is_valid(self, df):                    # required: one bool per row
            return df["visit"].dt.dayofweek < 5
        # optional: fit(df), transform(df) -> df, reverse_transform(df) -> df

A custom constraint with both ``transform`` and ``reverse_transform`` is reparameterised
like a built-in; otherwise it is checked by rejection only. Model files hold no code: a
custom constraint is saved by name, and :meth:`ConstraintSet.from_json` needs the object
passed again in ``custom={name: obj}``.

Overlap: constraints are taken in the order given. A transform replaces some columns (an
``Inequality`` replaces ``high`` and only reads ``low``; see
:attr:`Constraint.replaced_columns`; a custom one replaces all its ``columns``). A
transformable constraint that reads a column an earlier transform replaced is checked by
rejection instead (a :class:`ConstraintWarning` says so); its rule still holds on every
released row when the caller filters with :meth:`ConstraintSet.is_valid`. Reading a column that a
*later* transform replaces is fine: reversal runs in reverse order, so the column is
restored before it is read. So ``[Inequality("b", "c"), Inequality("a", "b")]`` are both
transformed, while the other order checks the second by rejection (or use
``Range("a", "b", "c")``). ``plan_`` records the role of each.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from synthgan.constraints.base import Constraint, constraint_from_json, offending_rows_error
from synthgan.constraints.errors import ConstraintError, ConstraintWarning
from synthgan.errors import ConfigError, ModelFileError, NotFittedError

FORMAT_VERSION = 1
TRANSFORM, REJECT = "transform", "reject"


def _is_custom_transformable(c) -> bool:
    return callable(getattr(c, "transform", None)) and callable(getattr(c, "reverse_transform", None))


def _custom_mask(c, df: pd.DataFrame) -> np.ndarray:
    """A custom constraint's ``is_valid`` as one bool per row; ConstraintError when it returns
    anything else (the wrong length, missing values, non-booleans)."""
    result = c.is_valid(df)
    values = result.to_numpy() if isinstance(result, (pd.Series, pd.Index)) else np.asarray(result)
    if values.shape != (len(df),):
        raise ConstraintError(
            [f"custom constraint {c.name!r}: is_valid must return one bool per row ({len(df)}), "
             f"got shape {values.shape}"]
        )
    if values.dtype != bool:
        if values.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
            values = values.astype(bool)
        else:
            raise ConstraintError(
                [f"custom constraint {c.name!r}: is_valid must return booleans, got {values.dtype} values"]
            )
    return values


class ConstraintSet:
    """Constraints applied in order: validate, fit, transform, reverse, check, save.

    ``constraints``: a list of built-in constraints and/or custom objects (module notes).

    Example::

        cs = ConstraintSet([Inequality("admitted", "discharged"), OneHot(["a", "b", "c"])])
        model_input = cs.fit(df).transform(df)
        rows = cs.reverse_transform(generated)      # every row obeys every transformed rule
        rows = rows[cs.is_valid(rows)]              # and now every rule, rejection ones too
    """

    def __init__(self, constraints):
        self.constraints = constraints

    # -- members --------------------------------------------------------------------------
    def _members(self) -> list:
        if isinstance(self.constraints, (Constraint, str)) or not isinstance(self.constraints, (list, tuple)):
            raise ConfigError(f"constraints must be a list of constraints, got {self.constraints!r}"[:300])
        seen = set()
        for c in self.constraints:
            if not isinstance(c, Constraint):
                name = getattr(c, "name", None)
                if not callable(getattr(c, "is_valid", None)) or not isinstance(name, str) or not name:
                    raise ConfigError(
                        f"constraint {c!r} is neither a built-in nor a custom constraint: a custom one needs "
                        "a non-empty str `name` and a method `is_valid(df)` returning one bool per row"[:400]
                    )
                if _is_custom_transformable(c) and not isinstance(getattr(c, "columns", None), (list, tuple)):
                    raise ConfigError(
                        f"custom constraint {name!r} has transform/reverse_transform but no `columns` "
                        "(the list of columns it replaces): add it"
                    )
            if c.name in seen:
                raise ConfigError(f"constraint {c.name!r} is given twice; names must be unique in a set")
            seen.add(c.name)
        return list(self.constraints)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._members()]

    def _check_fitted(self) -> None:
        if not hasattr(self, "plan_"):
            raise NotFittedError("ConstraintSet is not fitted: call fit(df) first")

    @property
    def rejected(self) -> list[str]:
        """Names of the constraints checked by rejection only (fitted)."""
        self._check_fitted()
        return [name for name, role in self.plan_.items() if role == REJECT]

    # -- fit ------------------------------------------------------------------------------
    def validate(self, df: pd.DataFrame) -> None:
        """Raise one :class:`ConstraintError` listing every constraint ``df`` breaks (each with
        its first offending rows) or cannot be checked on (a missing column...)."""
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"expected a pandas DataFrame, got {type(df).__name__}")
        problems, failures = [], {}
        for c in self._members():
            try:
                if isinstance(c, Constraint):
                    c.validate(df)
                else:
                    mask = _custom_mask(c, df)
                    if not mask.all():
                        cols = [x for x in getattr(c, "columns", ()) or () if x in df.columns] or list(df.columns)[:5]
                        raise offending_rows_error(repr(c.name), "of the custom constraint", df, mask, cols)
            except ConstraintError as exc:
                problems.extend(exc.problems)
                failures.update(exc.failures)
        if problems:
            raise ConstraintError(problems, failures)

    def fit(self, df: pd.DataFrame) -> "ConstraintSet":
        """Validate every constraint on the real table ``df`` (one error listing all broken
        ones), decide each one's role (``plan_``: transform or reject) and fit them. Returns
        self. Raises ConstraintError, ConfigError (bad constraint arguments)."""
        members = self._members()
        self.validate(df)
        plan, claimed, frame = {}, {}, df
        for c in members:
            builtin = isinstance(c, Constraint)
            wants = c.transformable if builtin else _is_custom_transformable(c)
            cols = tuple(c.columns) if builtin or wants else ()
            taken = [x for x in cols if x in claimed]
            if wants and taken:
                warnings.warn(
                    f"constraint {c.name!r} reads column(s) {taken} already replaced by the transform of "
                    f"{sorted({claimed[x] for x in taken})}; it is checked by rejection instead",
                    ConstraintWarning, stacklevel=2,
                )
                wants = False
            source = frame if wants else df
            if builtin:
                c.fit(source)
            elif callable(getattr(c, "fit", None)):
                c.fit(source)
            if wants and (c.transformable if builtin else True):
                frame = c.transform(frame)
                replaced = tuple(c.replaced_columns) if builtin else cols
                claimed.update({x: c.name for x in replaced})
                plan[c.name] = TRANSFORM
            else:
                plan[c.name] = REJECT
        self.columns_ = list(df.columns)
        self.plan_ = plan
        return self

    # -- transform ------------------------------------------------------------------------
    def _transformers(self) -> list:
        self._check_fitted()
        return [c for c in self._members() if self.plan_.get(c.name) == TRANSFORM]

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """The table the generator learns: each transform-role constraint applied in order."""
        out = df.copy()
        for c in self._transformers():
            out = c.transform(out)
        return out

    def reverse_transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Generated rows -> the training columns (reverse order), in the training column
        order (columns the set does not know follow at the end)."""
        out = df.copy()
        for c in reversed(self._transformers()):
            out = c.reverse_transform(out)
        known = [c for c in self.columns_ if c in out.columns]
        return out[known + [c for c in out.columns if c not in set(known)]]

    def output_kinds(self) -> dict:
        """``{column the transforms add: kind}`` (see :meth:`Constraint.output_kinds`)."""
        kinds = {}
        for c in self._transformers():
            if isinstance(c, Constraint):
                kinds.update(c.output_kinds())
            elif callable(getattr(c, "output_kinds", None)):
                kinds.update(c.output_kinds())
        return kinds

    # -- checks ---------------------------------------------------------------------------
    def _masks(self, df: pd.DataFrame) -> dict:
        self._check_fitted()
        return {
            c.name: (c.is_valid(df) if isinstance(c, Constraint) else _custom_mask(c, df)) for c in self._members()
        }

    def is_valid(self, df: pd.DataFrame) -> np.ndarray:
        """``np.ndarray[bool]`` of shape ``(len(df),)``: rows that obey every constraint."""
        mask = np.ones(len(df), dtype=bool)
        for m in self._masks(df).values():
            mask &= m
        return mask

    def validity(self, df: pd.DataFrame) -> dict:
        """``{constraint name: share of rows of df that obey it}`` (NaN for an empty table)."""
        return {name: float(m.mean()) if len(m) else float("nan") for name, m in self._masks(df).items()}

    # -- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        """Parameters and fitted state of every constraint; a custom one by name only."""
        self._check_fitted()
        items = []
        for c in self._members():
            item = c.to_json() if isinstance(c, Constraint) else {"type": "custom", "name": c.name}
            item["role"] = self.plan_[c.name]
            items.append(item)
        return {"version": FORMAT_VERSION, "columns": self.columns_, "constraints": items}

    @classmethod
    def from_json(cls, data: dict, custom: dict | None = None) -> "ConstraintSet":
        """Rebuild a fitted set saved with :meth:`to_json`. ``custom`` maps each custom
        constraint's name to the object (it is not refitted). Raises ModelFileError naming a
        custom constraint that is not passed, or for an unknown version or broken state."""
        custom = dict(custom or {})
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            raise ModelFileError(
                f"constraints saved in format version {version!r}; this synthgan reads version {FORMAT_VERSION}"
            )
        members, plan = [], {}
        try:
            for item in data["constraints"]:
                role = item["role"]
                if role not in (TRANSFORM, REJECT):
                    raise ModelFileError(f"unknown constraint role {role!r} in the model file")
                if item["type"] == "custom":
                    name = item["name"]
                    if name not in custom:
                        raise ModelFileError(
                            f"the model was fitted with the custom constraint {name!r}, which is code and is not "
                            f"saved in model files: pass it again, e.g. custom={{{name!r}: obj}}"
                        )
                    c = custom[name]
                    if getattr(c, "name", None) != name:
                        raise ModelFileError(
                            f"custom={{{name!r}: ...}} holds an object named {getattr(c, 'name', None)!r}"
                        )
                    if role == TRANSFORM and not _is_custom_transformable(c):
                        raise ModelFileError(
                            f"custom constraint {name!r} was fitted with transform/reverse_transform; "
                            "the object passed has none"
                        )
                else:
                    c = constraint_from_json(item)
                    if role == TRANSFORM and not getattr(c, "fitted_", False):
                        raise ModelFileError(f"constraint {c.name!r} is saved without its fitted state")
                members.append(c)
                plan[c.name] = role
            out = cls(members)
            out.columns_ = list(data["columns"])
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"constraints in the model file are inconsistent (missing {exc})") from None
        out.plan_ = plan
        return out
