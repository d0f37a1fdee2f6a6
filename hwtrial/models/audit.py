"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, UTCDateTime


class AuditEntry(Model):
    """One audited action. UPDATE and DELETE are refused by database triggers.

    ``payload`` is the canonical JSON that is hashed; the other columns repeat parts of it
    for querying, and verification checks that they agree.
    """

    __tablename__ = "hwtrial_audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain, 1-based, gap-free.
    seq: Mapped[int] = mapped_column(unique=True)
    #: Indexed for the audit log viewer's time filter.
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    target: Mapped[str] = mapped_column(sa.String(200))
    study_key: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    #: Canonical JSON of everything above plus before/after/reason.
    payload: Mapped[str] = mapped_column(sa.Text)
    #: Hash of the previous entry ("0"*64 for the first); UNIQUE forbids a fork.
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: SHA-256(prev_hash + payload).
    entry_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    #: The study list's last audited action per study (one index lookup per study).
    __table_args__ = (sa.Index("ix_hwtrial_audit_entry_study_key_at", "study_key", "at"),)


class AuditHead(Model):
    """The chain head, authenticated by an HMAC whose key is kept outside the database."""

    __tablename__ = "hwtrial_audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    entry_hash: Mapped[str] = mapped_column(sa.String(64))
    #: HMAC-SHA256(key, f"{seq}:{entry_hash}").
    mac: Mapped[str] = mapped_column(sa.String(64))
