"""Append to and verify the audit trail (chain logic in :mod:`hwtrial.audit_chain`)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..audit_chain import (
    ChainRow,
    Head,
    VerifyReport,
    canonical_json,
    entry_hash,
    head_mac,
    verify_chain,
)
from ..models import AuditEntry, AuditHead, utcnow

HEAD_ID = 1
#: Where a session keeps the entries of its open transaction.
PENDING_KEY = "hwtrial_audit_pending"
#: The head a transaction wrote, mirrored to the head file once it has committed.
HEAD_AFTER_COMMIT = "hwtrial_audit_head_committed"


def audit_key(config=None) -> bytes:
    """The HMAC key: ``HWTRIAL_AUDIT_HMAC_KEY``, else derived from the secret key; never stored in the DB."""
    config = config if config is not None else current_app.config
    explicit = config.get("HWTRIAL_AUDIT_HMAC_KEY")
    if explicit:
        return explicit.encode()
    return hmac.new(config["HWTRIAL_SECRET_KEY"].encode(), b"hwtrial-audit", hashlib.sha256).digest()


def _lock_head(session: Session) -> AuditHead:
    """Serialise appenders: a row lock on PostgreSQL; SQLite already holds the write lock."""
    head = session.execute(
        sa.select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:  # created by the first migration; recreated if someone removed it
        head = AuditHead(id=HEAD_ID, seq=0, entry_hash="0" * 64, mac="")
        session.add(head)
        session.flush()
    return head


def record(session: Session, *, actor: str, action: str, target: str, study_key: str | None = None,
           before: Any = None, after: Any = None, reason: str | None = None) -> None:
    """Audit one action of the caller's transaction; it is chained when that transaction commits.

    The entry is queued on the session and appended by :func:`_append_pending` just before
    COMMIT, so the chain head (one row every audited write must lock) is held only for the
    insert and the commit itself, not for the rest of the request.
    """
    session.connection()  # tie the entry to an open transaction, so its rollback drops it
    pending = session.info.setdefault(PENDING_KEY, [])
    pending.append({"at": utcnow(), "actor": actor, "action": action, "target": target,
                    "study_key": study_key, "before": before, "after": after, "reason": reason})


def _append_pending(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    head = _lock_head(session)
    key = audit_key()
    for item in pending:
        seq = head.seq + 1
        payload = canonical_json({**item, "seq": seq, "at": item["at"].isoformat()})
        digest = entry_hash(head.entry_hash, payload)
        session.add(AuditEntry(seq=seq, at=item["at"], actor=item["actor"], action=item["action"],
                               target=item["target"], study_key=item["study_key"], payload=payload,
                               prev_hash=head.entry_hash, entry_hash=digest))
        head.seq, head.entry_hash = seq, digest
    head.mac = head_mac(key, head.seq, head.entry_hash)
    session.flush()
    session.info[HEAD_AFTER_COMMIT] = (head.seq, head.entry_hash, head.mac)


@sa.event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(PENDING_KEY):
        _append_pending(session)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    committed = session.info.pop(HEAD_AFTER_COMMIT, None)
    if committed is not None:
        _mirror_head(*committed)


@sa.event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    # Only a rollback of the whole transaction undoes the audited actions; a SAVEPOINT
    # rolled back inside it (e.g. a replayed enrolment) leaves the earlier ones standing.
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
        session.info.pop(HEAD_AFTER_COMMIT, None)


def _mirror_head(seq: int, digest: str, mac: str) -> None:
    """Copy the committed head to a file outside the database (``HWTRIAL_AUDIT_HEAD_FILE``).

    Written after COMMIT, under a file lock, and only forwards: commits of several processes
    may reach this point out of order. A database rolled back or truncated to an older (even
    genuinely signed) head is then caught by :func:`verify`.
    """
    path = current_app.config.get("HWTRIAL_AUDIT_HEAD_FILE")
    if not path:
        return
    with open(path, "a+") as handle:
        _lock_exclusive(handle)
        handle.seek(0)
        current = _parse_head_file(handle.read())
        if current is None or seq > current.seq:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{seq} {digest} {mac}\n")


def _lock_exclusive(handle) -> None:
    """An exclusive lock on the open head file, released when it is closed.

    Imported here, not at the top: ``fcntl`` exists only on POSIX, and hwtrial must import on
    Windows; there ``msvcrt`` locks the first byte (the file's start, where the head is written).
    """
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    try:
        import msvcrt
    except ImportError:
        raise RuntimeError("HWTRIAL_AUDIT_HEAD_FILE needs file locking (fcntl or msvcrt), which "
                           "this platform lacks; unset HWTRIAL_AUDIT_HEAD_FILE") from None
    handle.seek(0)
    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)


def _parse_head_file(text: str) -> Head | None:
    parts = text.split()
    return Head(int(parts[0]), parts[1], parts[2]) if len(parts) == 3 else None


def _check_head_file(rows: list[ChainRow], report: VerifyReport) -> VerifyReport:
    """The chain must reach the head recorded outside the database, with the same hash there."""
    path = current_app.config.get("HWTRIAL_AUDIT_HEAD_FILE")
    if not report.ok or not path or not Path(path).exists():
        return report
    mirrored = _parse_head_file(Path(path).read_text())
    if mirrored is None:
        return report
    if mirrored.seq > len(rows):
        return VerifyReport(False, len(rows), len(rows) + 1,
                            f"the head file records seq {mirrored.seq}; the database ends at {len(rows)}")
    if mirrored.seq and rows[mirrored.seq - 1].entry_hash != mirrored.entry_hash:
        return VerifyReport(False, len(rows), mirrored.seq, "entry differs from the head file's record")
    return report


def chain_rows(session: Session) -> list[ChainRow]:
    rows = session.execute(sa.select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    return [
        ChainRow(seq=r.seq, payload=r.payload, prev_hash=r.prev_hash, entry_hash=r.entry_hash,
                 columns={"actor": r.actor, "action": r.action, "target": r.target,
                          "study_key": r.study_key})
        for r in rows
    ]


def verify(session: Session) -> VerifyReport:
    head = session.get(AuditHead, HEAD_ID)
    stored = Head(head.seq, head.entry_hash, head.mac) if head else None
    rows = chain_rows(session)
    return _check_head_file(rows, verify_chain(rows, stored, audit_key()))
