"""Pure homework core: submission validation, texts, engagement metrics.

No Flask and no database here; the services layer calls these functions.
"""

from hwtrial.homework.fields import FIELD_TYPES, validate_submission, words
from hwtrial.homework.metrics import InstanceMetrics, derive_metrics, self_review_depth
from hwtrial.homework.texts import merge_texts, pick_locale, resolve_texts

__all__ = [
    "FIELD_TYPES",
    "InstanceMetrics",
    "derive_metrics",
    "merge_texts",
    "pick_locale",
    "resolve_texts",
    "self_review_depth",
    "validate_submission",
    "words",
]
