"""Staff accounts, API tokens and server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import JSONText, Model, UTCDateTime, utcnow

#: Staff roles; participants are not users (they hold signed links, not passwords).
STAFF_ROLES = ("admin", "coordinator", "therapist", "statistician")


class User(Model):
    __tablename__ = "hwtrial_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Sign-in name, stored lower-case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    #: One of :data:`STAFF_ROLES`.
    role: Mapped[str] = mapped_column(sa.String(20))
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    #: werkzeug scrypt hash; NULL for token-only accounts.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    #: A disabled account keeps its history but can do nothing.
    active: Mapped[bool] = mapped_column(default=True)
    #: Statisticians are blinded unless this is set; coordinators may unblind in emergencies.
    may_unblind: Mapped[bool] = mapped_column(default=False)
    #: Study keys this account may touch; NULL means every study (admins are never scoped).
    #: Its tokens are limited to this scope as well as their own.
    study_keys: Mapped[list[str] | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    __table_args__ = (sa.CheckConstraint(f"role IN {STAFF_ROLES!r}", name="role"),)


class ApiToken(Model):
    __tablename__ = "hwtrial_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    #: SHA-256 of the secret; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: First characters of the token, to recognise it in listings.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The role this token acts as (at most the user's own role).
    role: Mapped[str] = mapped_column(sa.String(20))
    #: Study keys the token may touch; NULL means every study.
    study_keys: Mapped[list[str] | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Model):
    """A signed-in browser, staff or participant; deleting the cookie is not enough to log out."""

    __tablename__ = "hwtrial_web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the random session secret kept in the cookie.
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_user.id"))
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hwtrial_participant.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NULL) <> (participant_id IS NULL)", name="one_principal"
        ),
    )
