"""Reading the audit trail on the staff audit log viewer: filtered, newest first, by page.

The chain itself is checked by :func:`hwtrial.services.audit.verify` (every entry, hashed in
order): that is a full read of the trail, so the viewer runs it when asked, not on every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..models import AuditEntry

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    study_key: str | None = None
    actor: str | None = None
    #: An action, or a prefix ending in ``.`` (``study.`` matches every study action).
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int
    total: int
    #: Distinct actions recorded (for the filter's choices).
    actions: list[str]


def audit_page(session: Session, principal: Principal, filters: AuditFilter, page: int = 1) -> AuditPage:
    """One page of entries matching ``filters``; a token scoped to studies sees only theirs."""
    conditions = []
    if principal.study_keys is not None:
        conditions.append(AuditEntry.study_key.in_(sorted(principal.study_keys)))
    if filters.study_key:
        conditions.append(AuditEntry.study_key == filters.study_key)
    if filters.actor:
        conditions.append(AuditEntry.actor == filters.actor)
    if filters.action:
        conditions.append(AuditEntry.action.startswith(filters.action, autoescape=True)
                          if filters.action.endswith(".") else AuditEntry.action == filters.action)
    if filters.since:
        conditions.append(AuditEntry.at >= filters.since)
    if filters.until:
        conditions.append(AuditEntry.at < filters.until)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    entries = list(session.scalars(sa.select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    actions = list(session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return AuditPage(entries=entries, page=page, pages=pages, total=total, actions=actions)
