"""Business rules between columns that every synthetic row must obey.

Transform-first (after SDV's constraint transforms): each built-in reparameterises its
columns before the model sees them, so the generator cannot break the rule; a rule that
cannot be transformed is checked by rejection. :func:`detect` proposes rules a table obeys.

Built-ins: :class:`Inequality`, :class:`Range`, :class:`ScalarRange`,
:class:`FixedCombinations`, :class:`OneHot`, :class:`FixedIncrements`, :class:`Sum`.
Custom rules follow the protocol documented in :mod:`synthgan.constraints.constraint_set`.
Constraints read canonical dtypes (numbers, datetime64, text, booleans, categories):
apply them after :meth:`synthgan.schema.Schema.canonical`.
"""

from synthgan.constraints.arithmetic import FixedIncrements, Sum
from synthgan.constraints.base import Constraint, constraint_from_json
from synthgan.constraints.constraint_set import ConstraintSet
from synthgan.constraints.detect import Proposal, detect
from synthgan.constraints.discrete import FixedCombinations, OneHot
from synthgan.constraints.errors import ConstraintError, ConstraintWarning
from synthgan.constraints.order import Inequality, Range, ScalarRange

__all__ = [
    "Constraint", "ConstraintError", "ConstraintSet", "ConstraintWarning", "FixedCombinations", "FixedIncrements",
    "Inequality", "OneHot", "Proposal", "Range", "ScalarRange", "Sum", "constraint_from_json", "detect",
]
