"""Signed, expiring participant access links (itsdangerous)."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

_SALT = "hwtrial.participant-link"


class LinkError(Exception):
    """The link is forged, expired or revoked; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def make_link_token(secret_key: str, participant_id: int, generation: int,
                    issued_at: datetime | None = None) -> str:
    """A signed link token; ``issued_at`` (default now) starts its validity.

    Enrolment stamps the enrolment time, so a replayed enrolment answers with the same link.
    """
    if issued_at is None:
        return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps([participant_id, generation])
    stamp = int(issued_at.timestamp())

    class _Stamped(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=_Stamped).dumps(
        [participant_id, generation])


def read_link_token(secret_key: str, token: str, max_age: timedelta) -> tuple[int, int]:
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
    try:
        participant_id, generation = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise LinkError("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    return int(participant_id), int(generation)
