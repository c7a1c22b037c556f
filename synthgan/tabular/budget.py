"""How long the tabular GAN trains when the user does not say: a budget sized to the table.

CTGAN takes ``len(df) // batch_size`` steps an epoch, so with its batch of 500 a table of a
few hundred rows trains one optimiser step an epoch, and 300 epochs are 300 steps: far too
few for the generator to learn anything. What a GAN needs is optimiser steps, so the
default budget is set in steps and converted to epochs:

- **batch size**: an eighth of the training rows, rounded to a multiple of ``pac`` and kept
  within ``[5 * pac, 50 * pac]`` (50 to 500 rows at the default ``pac=10``), so even a
  133-row table takes a few steps an epoch and a large one keeps CTGAN's 500;
- **steps**: as many as CTGAN's 300 epochs would take, kept within
  ``[MIN_STEPS, MAX_STEPS]`` (4,000 to 6,000): small tables get enough steps to learn,
  large ones stop at a budget a 2-core CPU finishes in minutes;
- **epochs**: the steps divided by the steps an epoch, rounded up.

Explicit ``epochs=`` and ``batch_size=`` override the rule (an explicit batch with no
explicit epochs gets the step budget at that batch). Best-epoch selection and early
stopping (:mod:`synthgan.training`) usually end a run before its last epoch.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

#: fewest optimiser steps a default run takes, however small the table
MIN_STEPS = 4_000
#: most optimiser steps a default run takes, however large the table
MAX_STEPS = 6_000
#: CTGAN's epochs: a default run takes as many steps as they would, within the bounds above
REFERENCE_EPOCHS = 300
#: an explicit batch size that gives fewer steps than this an epoch gets a warning
FEW_STEPS = 5


@dataclass(frozen=True)
class Budget:
    """The training budget of one fit: rows per step, steps per epoch, epochs, total steps."""

    batch_size: int
    steps_per_epoch: int
    epochs: int
    rule: str  # how it was chosen, for the history and the report

    @property
    def steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def to_json(self) -> dict:
        return {
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "steps": self.steps,
            "rule": self.rule,
        }


def default_batch_size(n_rows: int, pac: int = 10) -> int:
    """An eighth of the rows in whole pac-groups, within ``[5 * pac, 50 * pac]``."""
    groups = min(max(round(n_rows / (8 * pac)), 5), 50)
    return groups * pac


def training_budget(
    n_rows: int, batch_size: int | None = None, epochs: int | None = None, pac: int = 10, owner: str = "fit"
) -> Budget:
    """The budget for ``n_rows`` training rows (see the module docstring for the rule).

    ``batch_size`` is rounded up to a multiple of ``pac``. Warns (``UserWarning``) when an
    explicit ``batch_size`` gives fewer than :data:`FEW_STEPS` steps an epoch.
    """
    explicit_batch = batch_size is not None
    batch = default_batch_size(n_rows, pac) if batch_size is None else math.ceil(batch_size / pac) * pac
    steps_per_epoch = max(1, n_rows // batch)
    if explicit_batch and steps_per_epoch < FEW_STEPS:
        warnings.warn(
            f"{owner}: batch_size={batch_size} gives {steps_per_epoch} optimiser step(s) an epoch on "
            f"{n_rows} rows; the generator learns from steps, not epochs. Leave batch_size unset for a "
            f"size-aware default ({default_batch_size(n_rows, pac)} here) or raise epochs accordingly",
            UserWarning,
            stacklevel=3,
        )
    if epochs is not None:
        return Budget(batch, steps_per_epoch, epochs, "explicit epochs")
    steps = min(max(REFERENCE_EPOCHS * steps_per_epoch, MIN_STEPS), MAX_STEPS)
    rule = f"steps = {REFERENCE_EPOCHS} x steps an epoch within [{MIN_STEPS}, {MAX_STEPS}]"
    return Budget(batch, steps_per_epoch, math.ceil(steps / steps_per_epoch), rule)
