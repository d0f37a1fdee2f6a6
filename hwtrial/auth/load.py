"""Resolve the request's principal and enforce the route policy (before every hwtrial view)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import Session

from ..auth.secrets import digest
from ..errors import ServiceError
from ..models import ApiToken, Participant, Study, User, WebSession, utcnow
from ..services.participant_flow import page_columns
from .objects import check_object_access
from .policy import allowed_roles
from .principal import ANONYMOUS, Principal

SESSION_COOKIE = "hwtrial_session"
DISABLED = Principal(role="disabled")
LAST_USED_RESOLUTION = timedelta(minutes=5)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _is_api() -> bool:
    from ..api.errors import is_api_request

    return is_api_request()


def principal_from_token(session: Session, secret: str) -> Principal | None:
    # The token and its user in one query (``token.user`` then comes from the identity map).
    found = session.execute(sa.select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                            .where(ApiToken.token_hash == digest(secret))).first()
    if found is None:
        return None
    token, user = found
    if token.revoked_at is not None:
        return None
    if not user.active:
        return DISABLED
    now = utcnow()
    # Coarse on purpose: writing this on every request would serialise all of a token's requests.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    keys = scope_of(token.study_keys, user.study_keys)
    return Principal(role=token.role, user=user, study_keys=keys, via="token")


def scope_of(*scopes: list[str] | None) -> frozenset[str] | None:
    """Studies within every given scope (None: unlimited). A token of a scoped user is
    limited by both: the token's own list and the account's."""
    out = None
    for scope in scopes:
        if scope is not None:
            out = frozenset(scope) if out is None else out & frozenset(scope)
    return out


def principal_from_cookie(session: Session, secret: str) -> Principal:
    # One query for the session and whoever it belongs to: this runs on every page view.
    # For a participant it also reads what every participant page needs (study, latest
    # consent, arm; kept in ``g.hwtrial_page_row``), saving each page a round trip.
    consent_version, arm_key = page_columns()
    found = session.execute(
        sa.select(WebSession, User, Participant, Study, consent_version, arm_key)
        .outerjoin(User, User.id == WebSession.user_id)
        .outerjoin(Participant, Participant.id == WebSession.participant_id)
        .outerjoin(Study, Study.id == Participant.study_id)
        .where(WebSession.secret_hash == digest(secret))
    ).first()
    if found is None:
        return ANONYMOUS
    row, user, participant, study, consent, arm = found
    if row.revoked_at is not None or row.expires_at <= utcnow():
        return ANONYMOUS
    if row.user_id is not None:
        if user is None or not user.active:
            return DISABLED
        return Principal(role=user.role, user=user, study_keys=scope_of(user.study_keys), via="session",
                         session_id=row.id)
    if participant.status != "active":  # withdrawal revokes sessions; never trust one that slipped by
        return ANONYMOUS
    g.hwtrial_page_row = (participant.id, (study, consent, arm))
    return Principal(role="participant", participant=participant, via="session", session_id=row.id)


def page_row(participant) -> tuple | None:
    """``(study, latest consent version, arm key)`` of ``participant`` if this request read them."""
    found = g.get("hwtrial_page_row")
    return found[1] if found is not None and participant is not None and found[0] == participant.id else None


def resolve_principal(session: Session) -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ServiceError(401, "malformed Authorization header; use 'Bearer <token>'")
        principal = principal_from_token(session, secret.strip())
        if principal is None:
            raise ServiceError(401, "invalid or revoked token")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    return principal_from_cookie(session, cookie) if cookie else ANONYMOUS


def current_principal() -> Principal:
    return g.get("hwtrial_principal", ANONYMOUS)


def enforce_policy(session: Session) -> None:
    """Load the principal, check the endpoint's policy row (fail closed), then the objects in the URL."""
    principal = resolve_principal(session)
    g.hwtrial_principal = principal
    if principal.via == "session" and request.method not in SAFE_METHODS and _is_api():
        from ..web.csrf import check_csrf_header

        check_csrf_header()
    roles = allowed_roles(request.endpoint, request.method)
    if principal.role in roles:
        check_object_access(session, principal, request.view_args or {})
        return
    if principal is DISABLED:
        raise ServiceError(403, "account disabled")
    if principal.role == "anonymous":
        raise ServiceError(401, "authentication required")
    raise ServiceError(403, "not allowed for your role")


def load_study_participant(study_key: str, participant_id: int | None = None):
    """Load and authorise for a view (API or page): the study (404 outside the caller's scope),
    then, when asked, the participant (404 unless the caller may see them)."""
    from ..extensions import get_session
    from ..services import enrolment, studies

    session, principal = get_session(), current_principal()
    study = studies.get_study(session, principal, study_key)
    if participant_id is None:
        return session, principal, study
    return session, principal, study, enrolment.get_participant(session, principal, study, participant_id)
