"""Withdrawal: by a coordinator, or by the participant from the participant pages.

A withdrawn participant keeps the allocation (intention-to-treat). Rule for tasks: every
homework instance not yet submitted is closed as ``expired`` at the moment of withdrawal
(``expired_at`` = that moment), so no task can be opened or reminded of afterwards;
submitted work is kept. Withdrawing consent to data use also sets ``exclude_data``.
Access ends too: every browser session is revoked and the link generation bumped, so
neither an old session nor an old link lets anything more be stored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import ServiceError
from ..models import HomeworkInstance, Participant, Study, utcnow
from . import audit, sessions

#: Instance states that are closed at withdrawal (everything not final).
OPEN_STATES = ("scheduled", "delivered", "opened", "started")


def _close_open_instances(session: Session, participant: Participant, now: datetime) -> int:
    result = session.execute(
        sa.update(HomeworkInstance)
        .where(HomeworkInstance.participant_id == participant.id,
               HomeworkInstance.state.in_(OPEN_STATES))
        .values(state="expired", expired_at=now)
        .execution_options(synchronize_session=False, hwtrial_study_ids=[participant.study_id]))
    return result.rowcount or 0


def withdraw(session: Session, actor: str, study: Study, participant: Participant, *,
             reason: str, data_use_withdrawn: bool = False, now: datetime | None = None) -> Participant:
    """Withdraw ``participant``; a second call may only add the withdrawal of data use.

    Raises ``ServiceError`` 422 without a reason, 409 when there is nothing left to change.
    """
    now = now or utcnow()
    if not (reason or "").strip():
        raise ServiceError(422, "withdrawal needs a reason", {"reason": ["required"]})
    already = participant.status == "withdrawn"
    if already and (participant.exclude_data or not data_use_withdrawn):
        raise ServiceError(409, "the participant is already withdrawn")
    before = {"status": participant.status, "exclude_data": participant.exclude_data}
    participant.status = "withdrawn"
    participant.withdrawn_at = participant.withdrawn_at or now
    participant.exclude_data = participant.exclude_data or bool(data_use_withdrawn)
    closed = _close_open_instances(session, participant, now)
    participant.link_generation += 1
    revoked = sessions.revoke_participant_sessions(session, participant)
    session.flush()
    audit.record(session, actor=actor, action="participant.withdraw",
                 target=f"participant:{participant.id}", study_key=study.key, before=before,
                 after={"status": "withdrawn", "exclude_data": participant.exclude_data,
                        "closed_instances": closed, "revoked_sessions": revoked},
                 reason=reason.strip())
    return participant


def self_withdraw(session: Session, participant: Participant, *, reason: str,
                  data_use_withdrawn: bool = False, now: datetime | None = None) -> Participant:
    """Withdrawal asked for by the participant (participant pages call this)."""
    study = session.get(Study, participant.study_id)
    return withdraw(session, f"participant:{participant.id}", study, participant,
                    reason=reason, data_use_withdrawn=data_use_withdrawn, now=now)
