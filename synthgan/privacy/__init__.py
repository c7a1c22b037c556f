"""Privacy: filters on what a generator releases, and metrics of how private its output is.

- :class:`PrivacyFilter` (tables) and :class:`ImagePrivacyFilter` drop exact copies, rows too
  close to a training row, and rows with rare quasi-identifier combinations;
- :class:`ExactMatchIndex` / :func:`row_keys`: the exact-match check on its own (hashes of
  training rows, small enough to store in a model file);
- :func:`privacy_metrics` and :func:`privacy_section`: distances, membership attack and exact
  matches for the report;
- :func:`membership_attacks`, :func:`shadow_attack` and :func:`attribute_inference`: attacks
  judged by ROC AUC and true positive rate at low false positive rates, and attribute inference.
"""

from synthgan.privacy.exact import ExactMatchIndex, RowNormaliser, row_keys
from synthgan.privacy.filter import FilterResult, PrivacyFilter
from synthgan.privacy.images import ImageFilterResult, ImagePrivacyFilter
from synthgan.privacy.attacks import Attack, AttackResult, membership_attacks, shadow_attack
from synthgan.privacy.attribute import AttributeRisk, attribute_inference
from synthgan.privacy.metrics import AttackEvidence, PrivacyResult, privacy_metrics, privacy_section
from synthgan.privacy.space import MixedSpace, nearest

__all__ = [
    "PrivacyFilter",
    "FilterResult",
    "ImagePrivacyFilter",
    "ImageFilterResult",
    "ExactMatchIndex",
    "RowNormaliser",
    "row_keys",
    "MixedSpace",
    "nearest",
    "PrivacyResult",
    "privacy_metrics",
    "privacy_section",
    "AttackEvidence",
    "Attack",
    "AttackResult",
    "membership_attacks",
    "shadow_attack",
    "AttributeRisk",
    "attribute_inference",
]
