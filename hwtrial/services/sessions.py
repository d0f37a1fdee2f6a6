"""Server-side sessions for browsers: staff sign-in and participant link exchange."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.links import LinkError, make_link_token, read_link_token
from ..auth.secrets import digest, new_secret
from ..models import Participant, User, WebSession, utcnow
from . import audit


def open_session(session: Session, lifetime: timedelta, *, user: User | None = None,
                 participant: Participant | None = None) -> str:
    """Create a session row and return the cookie secret (only its hash is stored)."""
    secret = new_secret("hws")
    session.add(WebSession(secret_hash=digest(secret), user_id=user.id if user else None,
                           participant_id=participant.id if participant else None,
                           expires_at=utcnow() + lifetime))
    session.flush()
    return secret


def find_session(session: Session, secret: str) -> WebSession | None:
    row = session.scalar(sa.select(WebSession).where(WebSession.secret_hash == digest(secret)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def close_session(session: Session, secret: str) -> None:
    row = find_session(session, secret)
    if row is not None:
        row.revoked_at = utcnow()
        session.flush()


def revoke_participant_sessions(session: Session, participant: Participant) -> int:
    """End every browser session of ``participant`` (at withdrawal); returns how many."""
    result = session.execute(sa.update(WebSession).where(
        WebSession.participant_id == participant.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def participant_link_token(secret_key: str, participant: Participant) -> str:
    return make_link_token(secret_key, participant.id, participant.link_generation)


def exchange_link(session: Session, secret_key: str, token: str, max_age: timedelta,
                  lifetime: timedelta) -> tuple[Participant, str]:
    """Swap a signed access link for a session; raises :class:`LinkError`."""
    participant_id, generation = read_link_token(secret_key, token, max_age)
    participant = session.get(Participant, participant_id)
    if participant is None or participant.link_generation != generation or participant.status != "active":
        raise LinkError("revoked")
    secret = open_session(session, lifetime, participant=participant)
    audit.record(session, actor=f"participant:{participant.id}", action="participant.sign_in",
                 target=f"participant:{participant.id}")
    return participant, secret
