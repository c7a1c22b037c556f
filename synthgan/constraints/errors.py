"""The named error and warning of constraints (kept beside them: they belong to this stage)."""

from __future__ import annotations

from synthgan.errors import DataError, SynthGANWarning


class ConstraintError(DataError):
    """A table breaks one or more constraints, or a constraint cannot read it (a missing
    column, a column of the wrong kind). The message lists every problem; ``problems`` holds
    them one per item and ``failures`` maps each broken constraint's name to
    ``(count of offending rows, first offending index labels)``."""

    def __init__(self, problems: list[str], failures: dict | None = None):
        self.problems = list(problems)
        self.failures = dict(failures or {})
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} constraint problem(s):\n{lines}")


class ConstraintWarning(SynthGANWarning):
    """A constraint is applied differently than asked (e.g. checked by rejection because a
    transform of an earlier constraint already reparameterises one of its columns)."""
