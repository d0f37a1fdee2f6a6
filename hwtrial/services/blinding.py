"""Who may see arm keys; emergency and study-level unblinding; the allocation-list export.

Blinding is a property of every field a blinded caller receives, not only of ``arm``:
features, framed texts, client self-reviews and the definition's arm and factor names all
tell arms apart, and are removed or replaced by codes here (see README, Roles).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..errors import ServiceError
from ..models import Allocation, Participant, Study, UnblindingRequest, utcnow
from ..studydef.blind import blind_definition
from . import audit
from .allocation import design_of


def may_unblind(principal: Principal) -> bool:
    """The unblinding right itself: admins, coordinators and users given ``may_unblind``."""
    return principal.sees_arms


def can_see_arms(principal: Principal, study: Study) -> bool:
    """Arm keys and labels for this caller in this study, or only the blinded codes.

    True for admins, coordinators and users with ``may_unblind``, and for every staff
    member once study-level unblinding was approved (``study.unblinded_at``).
    """
    if principal.sees_arms:
        return True
    return principal.is_staff and study.unblinded_at is not None


def arm_for(principal: Principal, study: Study, arm: dict) -> str:
    """What this caller is shown as the arm: its key, or its code when blinded."""
    return arm["key"] if can_see_arms(principal, study) else arm["code"]


def sees_external_ids(principal: Principal) -> bool:
    """The host platform's ids: only for those who enrol and coordinate (admins, coordinators)."""
    return principal.is_staff and principal.role in ("admin", "coordinator")


def arm_codes(study: Study) -> dict[str, str]:
    """Arm key to its blinded code."""
    return {arm["key"]: arm["code"] for arm in study.definition.get("arms", [])}


def definition_for(principal: Principal, study: Study) -> dict[str, Any]:
    """The stored definition, or its blinded form (:func:`blind_definition`)."""
    if can_see_arms(principal, study):
        return study.definition
    return blind_definition(study.definition, arm_codes(study))


#: Metrics of a self-review, as they are for an instance nobody reviewed.
_UNREVIEWED_METRICS = {"self_review_words": 0, "usefulness_rated": False, "self_review_depth": 0}


class _WithoutSelfReview:
    """A homework instance seen without the client's own self-review.

    Clients self-review only in arms with the self-review feature, so a blinded therapist
    who saw it would know the arm. A therapist's review (``therapist_review*``, columns of its
    own) is shown: any arm may have one.
    """

    self_review = reviewer_role = reviewed_at = reviewed_by = None

    def __init__(self, instance):
        self._instance = instance

    def __getattr__(self, name):
        return getattr(self._instance, name)

    @property
    def metrics(self):
        metrics = self._instance.metrics
        return None if metrics is None else {**metrics, **_UNREVIEWED_METRICS}


def homework_for(principal: Principal, study: Study, instance):
    """``instance`` as this caller may see it (see :class:`_WithoutSelfReview`)."""
    # The therapist's review lives in columns of its own (any arm may have one); only the
    # client's own self-review (``self_review``, reviewer_role ``client``) tells the arm.
    if instance.reviewer_role != "client" or can_see_arms(principal, study):
        return instance
    return _WithoutSelfReview(instance)


def _require_right(principal: Principal) -> None:
    if not may_unblind(principal):
        raise ServiceError(403, "unblinding needs a coordinator or a user allowed to unblind")


def _require_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise ServiceError(422, "unblinding needs a reason", {"reason": ["required"]})
    return reason.strip()


def emergency_unblind(session: Session, principal: Principal, study: Study,
                      participant: Participant, reason: str) -> str:
    """Reveal one participant's arm key (audited with the reason)."""
    _require_right(principal)
    reason = _require_reason(reason)
    if participant.allocation is None:
        raise ServiceError(409, "this participant has no allocation")
    arm = participant.allocation.arm_key
    audit.record(session, actor=principal.actor, action="participant.unblind",
                 target=f"participant:{participant.id}", study_key=study.key,
                 after={"arm": arm}, reason=reason)
    return arm


def request_unblinding(session: Session, principal: Principal, study: Study,
                       reason: str) -> UnblindingRequest:
    """First step of study-level unblinding; a different authorised person must approve."""
    _require_right(principal)
    reason = _require_reason(reason)
    if study.unblinded_at is not None:
        raise ServiceError(409, "the study is already unblinded")
    row = UnblindingRequest(study_id=study.id, requested_by=principal.user.id, reason=reason)
    session.add(row)
    session.flush()
    audit.record(session, actor=principal.actor, action="study.unblinding_request",
                 target=f"study:{study.key}", study_key=study.key,
                 after={"request_id": row.id}, reason=reason)
    return row


def approve_unblinding(session: Session, principal: Principal, study: Study,
                       request_id: int) -> UnblindingRequest:
    """Second person approves: the study is unblinded for every staff member from now on."""
    _require_right(principal)
    row = session.execute(
        sa.select(UnblindingRequest).where(UnblindingRequest.id == request_id,
                                           UnblindingRequest.study_id == study.id)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise ServiceError(404, f"no unblinding request {request_id} for this study")
    if row.approved_at is not None:
        raise ServiceError(409, "this request was already approved")
    if row.requested_by == principal.user.id:
        # Two-person rule: whoever asked cannot also approve.
        raise ServiceError(409, "the approver must be a different person from the requester",
                           {"approved_by": ["must differ from requested_by"]})
    now = utcnow()
    row.approved_by, row.approved_at = principal.user.id, now
    study.unblinded_at = now
    session.flush()
    audit.record(session, actor=principal.actor, action="study.unblind", target=f"study:{study.key}",
                 study_key=study.key, after={"request_id": row.id, "requested_by": row.requested_by},
                 reason=row.reason)
    return row


#: Columns of the allocation-list export, in order.
EXPORT_COLUMNS = ("sequence_no", "participant_id", "external_id", "arm", "arm_code", "method",
                  "probability", "stratum", "block_no", "position", "cluster", "allocated_at",
                  "status", "exclude_data")


def export_rows(session: Session, principal: Principal, study: Study) -> list[dict[str, Any]]:
    """The unblinded allocation list (unblinding right only); the export itself is audited."""
    if not may_unblind(principal):
        raise ServiceError(403, "the allocation list needs the unblinding right")
    design = design_of(study)
    rows = session.execute(
        sa.select(Allocation, Participant).join(Participant, Participant.id == Allocation.participant_id)
        .where(Allocation.study_id == study.id).order_by(Allocation.sequence_no)).all()
    out = [{"sequence_no": a.sequence_no, "participant_id": p.id, "external_id": p.external_id,
            "arm": a.arm_key, "arm_code": design.arms[a.arm_key]["code"], "method": a.method,
            "probability": a.probability, "stratum": a.stratum_key, "block_no": a.block_no,
            "position": a.position, "cluster": p.cluster_key,
            "allocated_at": a.allocated_at.isoformat(), "status": p.status,
            "exclude_data": p.exclude_data} for a, p in rows]
    audit.record(session, actor=principal.actor, action="allocation.export",
                 target=f"study:{study.key}", study_key=study.key, after={"rows": len(out)})
    return out


def rows_as_csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
