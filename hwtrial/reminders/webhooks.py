"""Signed webhooks to the host platform, which delivers push or SMS itself.

Each request carries ``HWTrial-Timestamp`` (Unix seconds), ``HWTrial-Signature``
(``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the study's webhook secret) and
``Idempotency-Key`` (the same for every attempt of one message, so a receiver drops repeats).
Receivers check the signature and refuse timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import OutboxMessage, Participant

SIGNATURE_HEADER = "HWTrial-Signature"
TIMESTAMP_HEADER = "HWTrial-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """Receiver side (also the documented snippet): signature matches and is fresh."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def webhook_secret(config: Mapping[str, Any], study_key: str) -> str | None:
    """``HWTRIAL_WEBHOOK_SECRETS[study_key]`` (a mapping in the config file), or the variable
    ``HWTRIAL_WEBHOOK_SECRET_<KEY>`` (key upper-cased, ``-`` as ``_``) in the configuration or
    the environment; never from the study file."""
    secrets = config.get("HWTRIAL_WEBHOOK_SECRETS")
    name = "HWTRIAL_WEBHOOK_SECRET_" + study_key.upper().replace("-", "_")
    from_mapping = secrets.get(study_key) if isinstance(secrets, Mapping) else None
    return from_mapping or config.get(name) or os.environ.get(name)


def webhook_body(study_key: str, participant: Participant, message: OutboxMessage) -> dict:
    payload = message.payload
    return {
        "id": hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32], "type": payload["kind"],
        "study": study_key, "participant": {"id": participant.id, "external_id": participant.external_id},
        "homework_instance": payload["instance_id"], "send_at": payload["send_at"],
        "local_time": payload["local_time"]}


class WebhookPool:
    """Keep-alive HTTP connections, one per (scheme, host, port), for one worker pass.

    A reused connection the receiver has closed meanwhile fails on the first write or read;
    that request is sent once more on a fresh connection (with the same Idempotency-Key).
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.connections: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        for attempt in (1, 2):
            reused = key in self.connections
            connection = self.connections.get(key) or self._open(parts)
            self.connections[key] = connection
            try:
                connection.request("POST", path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop(key)
                if reused and attempt == 1:
                    continue
                raise
            except Exception:
                self._drop(key)
                raise
            if answer.will_close:
                self._drop(key)
            return answer.status
        raise AssertionError("unreachable")

    def _open(self, parts) -> http.client.HTTPConnection:
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)

    def _drop(self, key) -> None:
        connection = self.connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self.connections):
            self._drop(key)


@dataclass(frozen=True)
class WebhookRequest:
    """A signed webhook ready to POST (built by the dispatcher's thread, sent by a sender's)."""

    url: str
    data: bytes
    headers: dict[str, str]


def webhook_request(study_key: str, definition: Mapping[str, Any], participant: Participant,
                    message: OutboxMessage, config: Mapping[str, Any]) -> WebhookRequest:
    """The signed request for ``message``; raises when the study has no webhook settings."""
    from .channels import ChannelNotConfigured

    url = ((definition.get("notifications") or {}).get("webhook") or {}).get("url")
    secret = webhook_secret(config, study_key)
    if not url or not secret:
        raise ChannelNotConfigured(
            f"webhook of study {study_key!r} needs notifications.webhook.url in the study file and "
            f"a secret (HWTRIAL_WEBHOOK_SECRETS or HWTRIAL_WEBHOOK_SECRET_{study_key.upper().replace('-', '_')})")
    body = webhook_body(study_key, participant, message)
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    stamp = int(time.time())
    return WebhookRequest(url, data, {
        "Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(secret, stamp, data), "Idempotency-Key": body["id"]})


def post_webhook(pool: WebhookPool, request: WebhookRequest) -> None:
    """POST it; any answer but 2xx (or no answer in time) raises for a retry."""
    status = pool.post(request.url, request.data, request.headers)
    if not 200 <= status < 300:
        raise RuntimeError(f"webhook answered {status}")

