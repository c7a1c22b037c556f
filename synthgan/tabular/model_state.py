"""The JSON state of a tabular model file, as a pydantic schema checked at load.

:meth:`TabularSynthesizer.load` validates the state against :class:`TabularModelState`
before using any of it, so a file with a missing or mistyped entry (hand-edited, or written
by another release) is one :class:`~synthgan.errors.ModelFileError` that names the entries,
never a ``KeyError`` from deep inside. Entries a newer writer adds are allowed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

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
    decimals: dict[str, int | None] = {}
    steps: dict[str, int] = {}
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
    constraints: dict | list | None = None  # synthgan.constraints.ConstraintSet.to_json()
    user_schema: list[ColumnState] | None = None  # the user's columns when constraints reshape them
