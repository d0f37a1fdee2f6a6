"""Signed, expiring participant access links (itsdangerous)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

_SALT = "hwtrial.participant-link"


class LinkError(Exception):
    """The link is forged, expired or revoked; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Serializer(URLSafeTimedSerializer):
    """Never tries zlib: a ``[id, generation]`` payload never shrinks, so the tokens are the
    ones itsdangerous makes anyway, without a compression attempt per link (reminder emails
    sign one each)."""

    def dump_payload(self, obj) -> bytes:
        from itsdangerous.encoding import base64_encode

        return base64_encode(self.serializer.dumps(obj, **self.serializer_kwargs).encode("utf-8"))


    def make_signer(self, salt=None):
        """One signer, its key derived once (itsdangerous makes and derives one per token)."""
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        if getattr(self, "_signer", None) is None:
            self._signer = super().make_signer(salt)
        return self._signer


class _KeyedSigner(TimestampSigner):
    """Derives its key from the secret once, not on every signature."""

    def derive_key(self, secret_key=None) -> bytes:
        if secret_key is not None:
            return super().derive_key(secret_key)
        if getattr(self, "_derived", None) is None:
            self._derived = super().derive_key()
        return self._derived


@lru_cache(maxsize=8)
def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return _Serializer(secret_key, salt=_SALT, signer=_KeyedSigner)


def make_link_token(secret_key: str, participant_id: int, generation: int,
                    issued_at: datetime | None = None) -> str:
    """A signed link token; ``issued_at`` (default now) starts its validity.

    Enrolment stamps the enrolment time, so a replayed enrolment answers with the same link.
    """
    if issued_at is None:
        return _serializer(secret_key).dumps([participant_id, generation])
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
