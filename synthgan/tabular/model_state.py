"""The JSON state of a tabular model file, as a pydantic schema checked at load.

:meth:`TabularSynthesizer.load` validates the state against :class:`TabularModelState`
before using any of it, so a file with a missing or mistyped entry (hand-edited, or written
by another release) is one :class:`~synthgan.errors.ModelFileError` that names the entries,
never a ``KeyError`` from deep inside. Entries a newer writer adds are allowed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from synthgan.training import HistoryState


class ColumnState(BaseModel):
    """One :class:`synthgan.schema.ColumnSchema`."""

    name: str | int
    kind: str
    dtype: str
    missing_rate: float
    timezone: str | None = None
    categories: list | None = None
    form: dict | None = None


class TransformerState(BaseModel):
    """A :class:`synthgan.tabular.transformer.TableTransformer`'s state."""

    max_modes: int
    gmm_subsample: int
    enforce_bounds: bool
    continuous_encoding: str = "mixture"
    decimals: dict[str, int | None]
    steps: dict[str, int]
    int_bounds: dict[str, list[int]] = {}
    columns: list[ColumnState] = Field(alias="schema")  # "schema" would shadow BaseModel.schema
    encoders: list[dict]


class ExactIndexState(BaseModel):
    """The row normaliser of :class:`synthgan.privacy.exact.ExactMatchIndex`."""

    columns: list
    kinds: list[str]
    decimals: list[int | None]


class TabularModelState(BaseModel):
    """Everything :meth:`TabularSynthesizer.save` writes as JSON (weights are tensors)."""

    params: dict
    privacy: dict | None = None
    transformer: TransformerState
    history: HistoryState
    target: str | int | None = None
    fairness: list = []
    training: dict | None = None
    exact_index: ExactIndexState | None = None
    label_model: dict | None = None  # synthgan.tabular.label_model.LabelModel.summary (weights are tensors)
    constraints: dict | list | None = None  # synthgan.constraints.ConstraintSet.to_json()
    user_schema: list[ColumnState] | None = None  # the user's columns when constraints reshape them

    @model_validator(mode="after")
    def _consistent(self) -> "TabularModelState":
        # a model without DP keeps the hashes of its training rows: without them sample() would
        # release copies of training rows silently
        if self.privacy is None and self.exact_index is None:
            raise ValueError("exact_index is required for a model trained without dp (the exact-match check)")
        names = {c.name for c in self.transformer.columns}
        if self.target is not None and self.target not in names:
            raise ValueError(f"target {self.target!r} is not a column of the model")
        if self.label_model is not None and self.target is None:
            raise ValueError("a label model needs its target")
        missing = [f for f in self.fairness if f not in names]
        if missing:
            raise ValueError(f"fairness columns {missing} are not columns of the model")
        if (self.constraints is None) != (self.user_schema is None):
            raise ValueError("constraints and user_schema come together")
        return self
