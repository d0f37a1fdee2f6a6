"""Signed webhooks to the host platform, which delivers push or SMS itself.

Each request carries ``HWTrial-Timestamp`` (Unix seconds), ``HWTrial-Signature``
(``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with the study's webhook secret) and
``Idempotency-Key`` (the same for every attempt of one message, so a receiver drops repeats).
Receivers check the signature and refuse timestamps older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..models import OutboxMessage, Study

SIGNATURE_HEADER = "HWTrial-Signature"
TIMESTAMP_HEADER = "HWTrial-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: int = 300) -> bool:
    """Receiver side (also the documented snippet): signature matches and is fresh."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
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


def webhook_body(session: Session, message: OutboxMessage, config: Mapping[str, Any]) -> tuple[Study, dict]:
    from .queueing import check_still_applies

    participant = check_still_applies(session, message, message.due_at)
    study = session.get(Study, participant.study_id)
    payload = message.payload
    return study, {
        "id": hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32], "type": payload["kind"],
        "study": study.key, "participant": {"id": participant.id, "external_id": participant.external_id},
        "homework_instance": payload["instance_id"], "send_at": payload["send_at"],
        "local_time": payload["local_time"]}


def send_webhook(session: Session, message: OutboxMessage, config: Mapping[str, Any]) -> None:
    """POST the signed body; any answer but 2xx (or no answer in time) raises for a retry."""
    from .channels import ChannelNotConfigured

    study, body = webhook_body(session, message, config)
    url = ((study.definition.get("notifications") or {}).get("webhook") or {}).get("url")
    secret = webhook_secret(config, study.key)
    if not url or not secret:
        raise ChannelNotConfigured(
            f"webhook of study {study.key!r} needs notifications.webhook.url in the study file and "
            f"a secret (HWTRIAL_WEBHOOK_SECRETS or HWTRIAL_WEBHOOK_SECRET_{study.key.upper().replace('-', '_')})")
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    stamp = int(time.time())
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(secret, stamp, data), "Idempotency-Key": body["id"]})
    try:
        with urllib.request.urlopen(request, timeout=float(config["HWTRIAL_WEBHOOK_TIMEOUT_SECONDS"])) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"webhook answered {error.code}") from None
