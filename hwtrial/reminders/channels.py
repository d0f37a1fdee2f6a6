"""Channels: turn an outbox row into an email or a webhook call and deliver it.

The Message-ID of every email is derived from the outbox key, so a message sent again after
a worker crash carries the same id and a receiver can drop the repeat.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from ..models import OutboxMessage, Participant, utcnow
from .dispatcher import Receipt
from .emails import Email, NoRecipient, reminder_email, safety_alert_email
from .queueing import BatchFacts
from .webhooks import WebhookPool, WebhookRequest, post_webhook, webhook_request

SECURITY_MODES = ("none", "starttls", "ssl")


class ChannelNotConfigured(NoRecipient):
    """The message's channel has no settings; the row is retried, then dead-lettered."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    mail_from: str
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        if not config.get("HWTRIAL_SMTP_HOST"):
            return None
        security = config["HWTRIAL_SMTP_SECURITY"]
        if security not in SECURITY_MODES:
            raise ValueError(f"HWTRIAL_SMTP_SECURITY: {security!r} is not one of none, starttls, ssl")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
        return cls(host=config["HWTRIAL_SMTP_HOST"], port=int(config["HWTRIAL_SMTP_PORT"] or default_port),
                   security=security, username=config.get("HWTRIAL_SMTP_USERNAME"),
                   password=config.get("HWTRIAL_SMTP_PASSWORD"), mail_from=config["HWTRIAL_MAIL_FROM"],
                   timeout=float(config["HWTRIAL_SMTP_TIMEOUT_SECONDS"]))


def message_id(dedupe_key: str, mail_from: str) -> str:
    domain = mail_from.rsplit("@", 1)[-1].strip("<> ") or "hwtrial.invalid"
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}@{domain}>"


class SmtpConnection:
    """One SMTP session reused for a worker pass (connect, STARTTLS and login once, not per
    message); any failure drops it, and the next message connects afresh."""

    def __init__(self, settings: SmtpSettings, context: ssl.SSLContext | None = None):
        self.settings, self.context = settings, context
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings, context = self.settings, self.context or ssl.create_default_context()
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        return client

    def send(self, recipients: list[str], data: bytes) -> None:
        """Deliver one email; any refusal (4xx/5xx, timeout) raises for the dispatcher to record."""
        try:
            self.client = self.client or self._connect()
            refused = self.client.sendmail(parseaddr(self.settings.mail_from)[1] or self.settings.mail_from,
                                           recipients, data)
        except Exception:
            self.close()
            raise
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except Exception:  # already broken: nothing left to close politely
                self.client.close()
            self.client = None


def reminder_link(participant: Participant, message: OutboxMessage, config: Mapping[str, Any]) -> str:
    """A fresh signed access link (valid ``HWTRIAL_PARTICIPANT_LINK_DAYS`` from sending) that
    records the click and lands on the reminder's task (:mod:`hwtrial.reminders.clicks`)."""
    from ..auth.links import make_link_token

    token = make_link_token(config["HWTRIAL_SECRET_KEY"], participant.id, participant.link_generation)
    root = (config.get("HWTRIAL_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{root}{config.get('HWTRIAL_URL_PREFIX', '')}/p/start?token={token}&reminder={message.id}"


@dataclass(frozen=True)
class EmailDelivery:
    """An email ready for the wire: envelope recipients and the message bytes."""

    to: list[str]
    data: bytes


class Sender:
    """The dispatcher's sender, by the row's channel, for one worker pass.

    ``render(message)`` runs on the dispatcher's thread: it checks that a reminder still
    applies (against what ``prepare`` loaded for the batch in a few queries) and builds the
    email bytes or the signed webhook request. ``deliver(delivery)`` only talks to the
    network and runs on up to ``concurrency`` sender threads, each with its own SMTP session
    and keep-alive webhook connections (``close()`` ends them all), so one slow server round
    trip does not idle the worker. ``sender(message)`` does both in one call. The clock is
    passed in (``clock()`` returns aware UTC).
    """

    def __init__(self, session: Session, config: Mapping[str, Any], clock: Callable[[], datetime] = utcnow):
        self.session, self.config, self.clock = session, config, clock
        self.smtp = SmtpSettings.from_config(config)
        self.concurrency = max(1, int(config.get("HWTRIAL_DISPATCH_CONCURRENCY") or 1))
        self.webhook_timeout = float(config["HWTRIAL_WEBHOOK_TIMEOUT_SECONDS"])
        self._context = None  # one TLS context for the pass (building one reads the CA store)
        self._local = threading.local()
        self._opened: list = []
        self._lock = threading.Lock()
        self.facts: BatchFacts | None = None
        self.now = None

    def prepare(self, messages: list[OutboxMessage], now: datetime) -> None:
        self.facts, self.now = BatchFacts.load(self.session, messages, now), now

    def _facts(self, message: OutboxMessage) -> BatchFacts:
        if self.facts is None or message.participant_id not in self.facts.participants:
            self.prepare([message], message.due_at if self.now is None else self.now)
        return self.facts

    def render(self, message: OutboxMessage) -> EmailDelivery | WebhookRequest:
        kind = message.payload.get("kind")
        if message.channel == "webhook":
            facts = self._facts(message)
            participant = facts.check(message, message.due_at)
            study = facts.studies[participant.study_id]
            return webhook_request(study.key, facts.definitions[study.id], participant, message, self.config)
        if message.channel != "email":
            raise ChannelNotConfigured(f"channel {message.channel!r} is not available")
        if self.smtp is None:
            raise ChannelNotConfigured("email is not configured: set HWTRIAL_SMTP_HOST")
        if kind == "reminder":
            email = self._reminder(message)
        elif kind == "safety_alert":
            email = safety_alert_email(self.session, message, self.config)
        else:
            raise ValueError(f"no email template for outbox kind {kind!r}")
        return EmailDelivery(email.to, email.as_bytes(self.smtp.mail_from,
                                                      message_id(message.dedupe_key, self.smtp.mail_from)))

    def deliver(self, delivery: EmailDelivery | WebhookRequest) -> Receipt:
        """Hand the message to its server (safe on several threads at once)."""
        sent = self.clock()
        if isinstance(delivery, WebhookRequest):
            post_webhook(self._connection("webhooks"), delivery)
        else:
            self._connection("smtp").send(delivery.to, delivery.data)
        return Receipt(sent, self.clock())

    def __call__(self, message: OutboxMessage) -> Receipt:
        return self.deliver(self.render(message))

    def _connection(self, kind: str):
        """This thread's SMTP session or webhook pool, opened on first use."""
        connection = getattr(self._local, kind, None)
        if connection is None:
            if kind == "smtp":
                if self._context is None and self.smtp.security != "none":
                    with self._lock:
                        self._context = self._context or ssl.create_default_context()
                connection = SmtpConnection(self.smtp, self._context)
            else:
                connection = WebhookPool(self.webhook_timeout)
            setattr(self._local, kind, connection)
            with self._lock:
                self._opened.append(connection)
        return connection

    def _reminder(self, message: OutboxMessage) -> Email:
        from ..web.participant_i18n import translations

        facts = self._facts(message)
        participant = facts.check(message, message.due_at)
        definition = facts.definitions[participant.study_id]
        locale = participant.locale or definition.get("default_locale") or self.config.get(
            "HWTRIAL_DEFAULT_LOCALE", "en")
        return reminder_email(participant, definition, reminder_link(participant, message, self.config),
                              translations(locale).gettext, locale)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()


def make_sender(session: Session, config: Mapping[str, Any], clock: Callable[[], datetime] = utcnow) -> Sender:
    return Sender(session, config, clock)
