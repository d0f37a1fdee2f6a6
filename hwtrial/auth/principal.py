"""Who is calling: resolved once per request from a bearer token or a session cookie."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Participant, User

#: Every role the route policy speaks of.
ROLES = ("anonymous", "participant", "admin", "coordinator", "therapist", "statistician")


@dataclass(frozen=True)
class Principal:
    #: One of :data:`ROLES`.
    role: str
    user: User | None = None
    participant: Participant | None = None
    #: Studies the caller may touch: the token's and the account's scopes, both applied
    #: (None: every study). Every study lookup goes through it, API and pages alike.
    study_keys: frozenset[str] | None = None
    #: How the principal authenticated: none, token, session.
    via: str = "none"
    session_id: int | None = None
    labels: dict = field(default_factory=dict)
    #: The host app's own Python code (``HWTrial.enrol`` & co.): trusted like a coordinator.
    host_app: bool = False

    @property
    def is_staff(self) -> bool:
        return self.user is not None or self.host_app

    @property
    def actor(self) -> str:
        """Audit label: ``user:3``, ``participant:12`` or ``anonymous``."""
        if self.host_app:
            return "host-app"
        if self.user is not None:
            return f"user:{self.user.id}"
        if self.participant is not None:
            return f"participant:{self.participant.id}"
        return self.role

    @property
    def sees_arms(self) -> bool:
        """Unblinded arm labels: admins, coordinators, and users given the unblinding right."""
        if self.host_app:
            return True
        if self.user is None:
            return False
        return self.role in ("admin", "coordinator") or bool(self.user.may_unblind)

    def may_touch_study(self, study_key: str) -> bool:
        return self.study_keys is None or study_key in self.study_keys


ANONYMOUS = Principal(role="anonymous")
