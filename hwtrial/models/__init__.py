"""All hwtrial tables, one module per aggregate. Import models from here."""

from . import data_version  # noqa: E402,F401  (registers the session hooks)
from .allocation import Allocation, AllocationBlock, AllocationState, Cluster
from .audit import AuditEntry, AuditHead
from .base import Model, UTCDateTime, utcnow
from .event import Event, FeatureExposure
from .homework import HomeworkInstance
from .participant import ConsentRecord, Participant
from .questionnaire import QuestionnaireResponse, SafetyAlert
from .reminder import DecisionPoint, OutboxMessage
from .snapshot import ResultsSnapshot
from .study import Study, StudyVersion, UnblindingRequest
from .tailoring import HomeworkTailoring
from .user import STAFF_ROLES, ApiToken, User, WebSession

__all__ = [
    "Allocation", "AllocationBlock", "AllocationState", "ApiToken", "AuditEntry", "AuditHead",
    "Cluster", "ConsentRecord", "DecisionPoint", "Event", "FeatureExposure", "HomeworkInstance",
    "HomeworkTailoring", "Model", "OutboxMessage", "Participant", "QuestionnaireResponse", "ResultsSnapshot", "STAFF_ROLES",
    "SafetyAlert",
    "Study", "StudyVersion", "UTCDateTime", "UnblindingRequest", "User", "WebSession", "utcnow",
]
