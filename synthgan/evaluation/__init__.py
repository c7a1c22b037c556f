"""Evaluation: how faithful (fidelity) and how useful (utility, augmentation) synthetic data is.

One module per metric family, each a chain of pure functions ending in a typed result and a
function that describes the result as a report :class:`~synthgan.report.Section`.
:func:`evaluate` runs them all and returns a :class:`~synthgan.report.Report`.
"""

from synthgan.evaluation.evaluate import evaluate

__all__ = ["evaluate"]
