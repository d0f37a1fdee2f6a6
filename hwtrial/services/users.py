"""Staff accounts and API tokens."""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..auth.principal import Principal
from ..auth.secrets import digest, new_secret
from ..errors import ServiceError
from ..models import STAFF_ROLES, ApiToken, Study, User, utcnow
from . import audit

#: Shortest web sign-in password accepted (the API schema asks the same).
MIN_PASSWORD_LENGTH = 12

#: Something@domain.tld without spaces: enough to catch a typo or a missing value, not RFC 5322.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    #: The secret, shown once; only its hash is stored.
    secret: str


def require_unscoped(actor: Principal | str) -> None:
    """403 for a caller limited to studies: accounts belong to no study, so a scoped admin
    token that could create a user with a password, re-enable one or widen an account's
    scope could sign in unscoped and reach every study."""
    if isinstance(actor, Principal) and actor.study_keys is not None:
        raise ServiceError(403, "a token scoped to studies cannot manage accounts")


def create_user(session: Session, actor: Principal | str, *, email: str, role: str,
                password: str | None = None, display_name: str = "",
                may_unblind: bool = False) -> User:
    require_unscoped(actor)
    if role not in STAFF_ROLES:
        raise ServiceError(422, "invalid role", {"role": [f"must be one of {', '.join(STAFF_ROLES)}"]})
    email = checked_email(email)
    if password is not None:
        check_password(password)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ServiceError(409, "a user with this email exists", {"email": ["already registered"]})
    user = User(email=email, role=role, display_name=display_name, may_unblind=may_unblind,
                password_hash=generate_password_hash(password, "scrypt") if password else None)
    session.add(user)
    session.flush()
    audit.record(session, actor=_actor(actor), action="user.create", target=f"user:{user.id}",
                 after={"email": email, "role": role, "may_unblind": may_unblind})
    return user


def checked_email(email: str) -> str:
    """The normalised address; 422 naming ``email`` when it is not one."""
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email):
        raise ServiceError(422, f"{email!r} is not an email address",
                           {"email": ["not a valid email address"]})
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(422, f"the password is shorter than {MIN_PASSWORD_LENGTH} characters",
                           {"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]})


def set_password(session: Session, actor: Principal | str, user: User, password: str) -> User:
    """Replace the web sign-in password (the hash only is stored; audited without it)."""
    require_unscoped(actor)
    check_password(password)
    user.password_hash = generate_password_hash(password, "scrypt")
    audit.record(session, actor=_actor(actor), action="user.password", target=f"user:{user.id}")
    return user


def temporary_password() -> str:
    """A random first or reset password (16 characters), for an admin to hand over once."""
    return secrets.token_urlsafe(12)


def reset_password(session: Session, actor: Principal | str, user: User,
                   password: str | None = None) -> str | None:
    """Set ``password``, or a generated temporary one that is returned to be shown once."""
    temporary = None if password else temporary_password()
    set_password(session, actor, user, password or temporary)
    return temporary


def set_active(session: Session, actor: Principal | str, user: User, active: bool,
               reason: str) -> User:
    require_unscoped(actor)
    before = user.active
    user.active = active
    audit.record(session, actor=_actor(actor), action="user.activate" if active else "user.disable",
                 target=f"user:{user.id}", before={"active": before}, after={"active": active},
                 reason=reason)
    return user


#: Roles whose accounts may be limited to studies (an admin manages accounts and tokens of
#: every study, so a scope would not bind them).
SCOPABLE_ROLES = ("coordinator", "therapist", "statistician")


def set_study_scopes(session: Session, actor: Principal | str, user: User,
                     study_keys: list[str] | None) -> User:
    """Limit ``user`` to these studies (None or empty: every study); audited.

    Enforced wherever token scopes are (:class:`~hwtrial.auth.principal.Principal`'s
    ``study_keys``): other studies answer 404 like unknown ones, the study list shows only
    these, and the user's tokens are limited to both their own and this scope.
    """
    require_unscoped(actor)
    keys = sorted(set(study_keys)) if study_keys else None
    if keys is not None:
        if user.role not in SCOPABLE_ROLES:
            raise ServiceError(422, "admin accounts cannot be limited to studies",
                               {"study_keys": [f"only {', '.join(SCOPABLE_ROLES)} accounts can be scoped"]})
        known = set(session.scalars(sa.select(Study.key).where(Study.key.in_(keys))))
        missing = [k for k in keys if k not in known]
        if missing:
            raise ServiceError(422, "unknown study", {"study_keys": [f"unknown study {k!r}" for k in missing]})
    before = user.study_keys
    if before == keys:
        return user
    user.study_keys = keys
    audit.record(session, actor=_actor(actor), action="user.scopes", target=f"user:{user.id}",
                 before={"study_keys": before}, after={"study_keys": keys})
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone can type, made like real ones (same method and cost)."""
    return generate_password_hash(new_secret("dummy"), "scrypt")


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None.

    Takes as long for an unknown email as for a known one (a dummy hash is checked), so the
    answer time does not tell which emails have accounts.
    """
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    usable = user is not None and user.active and bool(user.password_hash)
    matches = check_password_hash(user.password_hash if usable else _dummy_hash(), password)
    return user if usable and matches else None


def issue_token(session: Session, actor: Principal | str, user: User, *, role: str | None = None,
                study_keys: list[str] | None = None, label: str = "") -> IssuedToken:
    role = role or user.role
    scope = actor.study_keys if isinstance(actor, Principal) else None
    if scope is not None and (not study_keys or not set(study_keys) <= scope):
        # A scoped token must not mint a token wider than itself.
        raise ServiceError(403, "a token scoped to studies can only issue tokens within its scope",
                           {"study_keys": [f"a subset of {', '.join(sorted(scope))}"]})
    if role != user.role and user.role != "admin":
        raise ServiceError(422, "token role exceeds the user's role", {"role": [f"must be {user.role}"]})
    if study_keys:
        known = set(session.scalars(sa.select(Study.key).where(Study.key.in_(study_keys))))
        missing = [k for k in study_keys if k not in known]
        if missing:
            raise ServiceError(422, "unknown study", {"study_keys": [f"unknown study {k!r}" for k in missing]})
    secret = new_secret("hwt")
    token = ApiToken(user=user, token_hash=digest(secret), prefix=secret[:10], role=role,
                     study_keys=study_keys or None, label=label)
    session.add(token)
    session.flush()
    audit.record(session, actor=_actor(actor), action="token.issue", target=f"token:{token.id}",
                 after={"user": user.id, "role": role, "study_keys": study_keys, "label": label})
    return IssuedToken(token, secret)


def revoke_token(session: Session, actor: Principal | str, token: ApiToken) -> ApiToken:
    scope = actor.study_keys if isinstance(actor, Principal) else None
    if scope is not None and not (token.study_keys and set(token.study_keys) <= scope):
        # Within its own scope only, as for issuing: not a way to cut off other studies' hosts.
        raise ServiceError(403, "a token scoped to studies can only revoke tokens within its scope")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor=_actor(actor), action="token.revoke", target=f"token:{token.id}")
    return token


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ServiceError(404, "no such user")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ServiceError(404, f"no user {email!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.id)))


def list_therapists(session: Session) -> list[User]:
    """Active therapist accounts (whom a participant can be assigned to at enrolment)."""
    return list(session.scalars(sa.select(User).where(User.role == "therapist", User.active.is_(True))
                                .order_by(User.display_name, User.email)))


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)))


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise ServiceError(404, "no such token")
    return token


def _actor(actor: Principal | str) -> str:
    return actor if isinstance(actor, str) else actor.actor
