"""Every failure a user can meet is one of these.

Each error subclasses both :class:`SynthGANError` (catch everything from synthgan) and the
builtin it most resembles (``ValueError``, ``FileNotFoundError``...), so generic handlers keep
working.
"""

from __future__ import annotations


class SynthGANError(Exception):
    """Base class of every synthgan error."""


class ConfigError(SynthGANError, ValueError):
    """An option has a value synthgan cannot use."""


class DataError(SynthGANError, ValueError):
    """The input table (or images) cannot be modelled as given."""


class SchemaError(DataError):
    """One or more columns have problems; the message lists every one of them."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the table has {len(self.problems)} problem(s):\n{lines}")


class NotFittedError(SynthGANError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``."""


class ConditionError(SynthGANError, ValueError):
    """A sampling condition names an unknown column or value, or cannot be satisfied."""


class PrivacyFilterError(SynthGANError, ValueError):
    """A privacy filter passes too few rows to reach the number asked for."""


class TrainingError(SynthGANError, RuntimeError):
    """Training diverged (a loss became NaN or infinite)."""


class ModelFileError(SynthGANError, ValueError):
    """A model file is missing, corrupted, tampered with, or of an unknown format version."""


class InputFileError(SynthGANError, OSError):
    """An input file is missing or cannot be read."""


class MissingDependencyError(SynthGANError, ImportError):
    """An optional feature needs a package that is not installed; the message names the extra."""


class SynthGANWarning(UserWarning):
    """Base class of every synthgan warning."""


class EvaluationWarning(SynthGANWarning):
    """An evaluation ran, but a result needs a caveat (e.g. holdout rows also in the training data)."""


#: names shown in a message before "... and N more"
LISTED = 12


def listing(names, limit: int = LISTED) -> str:
    """``a, b, c ... and 9 more``: a list of names for a message, never cut silently."""
    names = [str(n) for n in names]
    more = f" ... and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
