"""Channels: turn an outbox row into a message and deliver it (SMTP email today).

The Message-ID of every email is derived from the outbox key, so a message sent again after
a worker crash carries the same id and a receiver can drop the repeat.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import DecisionPoint, OutboxMessage, Participant, User, utcnow
from .webhooks import send_webhook

SECURITY_MODES = ("none", "starttls", "ssl")


class ChannelNotConfigured(RuntimeError):
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

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings, context = self.settings, ssl.create_default_context()
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        return client

    def send(self, email: EmailMessage) -> None:
        """Deliver one email; any refusal (4xx/5xx, timeout) raises for the dispatcher to record."""
        try:
            self.client = self.client or self._connect()
            refused = self.client.send_message(email)
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


def staff_recipients(session: Session, payload: Mapping[str, Any]) -> list[str]:
    """Active coordinators, and the participant's therapist when there is one."""
    emails = list(session.scalars(
        sa.select(User.email).where(User.role == payload.get("to_role", "coordinator"),
                                    User.active.is_(True)).order_by(User.id)))
    participant = session.get(Participant, payload["participant_id"]) if "participant_id" in payload else None
    if participant is not None and participant.therapist_id is not None:
        therapist = session.get(User, participant.therapist_id)
        if therapist is not None and therapist.active and therapist.email not in emails:
            emails.append(therapist.email)
    return emails


def safety_alert_email(session: Session, message: OutboxMessage, config: Mapping[str, Any]) -> EmailMessage:
    """The PHQ-9 item-9 alert for staff: who, which study, which answer; never the arm."""
    payload = message.payload
    recipients = staff_recipients(session, payload)
    if not recipients:
        raise ChannelNotConfigured("no recipient: the study has no active coordinator account")
    base = (config.get("HWTRIAL_PUBLIC_URL") or "").rstrip("/") + config.get("HWTRIAL_URL_PREFIX", "")
    where = f"{base}/api/v1/studies/{payload['study_key']}/safety-alerts"
    email = EmailMessage()
    email["Subject"] = f"[hwtrial] Safety alert in study {payload['study_key']}"
    email.set_content(
        f"A participant's questionnaire answer needs a clinician's attention.\n\n"
        f"Study: {payload['study_key']}\nParticipant id: {payload['participant_id']}\n"
        f"Answer: {payload['reason']}\nAlert id: {payload['alert_id']}\n\n"
        f"Follow your study's safety protocol, then acknowledge the alert: {where}\n")
    email["To"] = ", ".join(recipients)
    return email


def _(text: str) -> str:
    """Mark for extraction; translated where the email is built."""
    return text


REMINDER_SUBJECT = _("A homework task is waiting for you")
REMINDER_BODY = _("You have a homework task for your therapy study. It takes a few minutes.\n\n"
                  "Open it here: %(link)s\n\n"
                  "If you would rather not get these reminders, tell your study team.")


def reminder_email(session: Session, message: OutboxMessage, config: Mapping[str, Any]) -> EmailMessage:
    """A participant's reminder, in their language, with a signed link to their tasks."""
    from ..web.participant_i18n import translations
    from .queueing import check_still_applies

    participant = check_still_applies(session, message, message.due_at)
    locale = participant.locale or config.get("HWTRIAL_DEFAULT_LOCALE", "en")
    gettext = translations(locale).gettext
    email = EmailMessage()
    email["Subject"] = gettext(REMINDER_SUBJECT)
    email.set_content(gettext(REMINDER_BODY) % {"link": reminder_link(participant, message, config)})
    email["To"] = participant.email
    return email


def reminder_link(participant: Participant, message: OutboxMessage, config: Mapping[str, Any]) -> str:
    """A fresh signed access link (valid ``HWTRIAL_PARTICIPANT_LINK_DAYS`` from sending) that
    records the click and lands on the reminder's task (:mod:`hwtrial.reminders.clicks`)."""
    from ..auth.links import make_link_token

    token = make_link_token(config["HWTRIAL_SECRET_KEY"], participant.id, participant.link_generation)
    root = (config.get("HWTRIAL_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{root}{config.get('HWTRIAL_URL_PREFIX', '')}/p/start?token={token}&reminder={message.id}"


#: Email builders by the ``kind`` in an outbox payload.
EMAIL_BUILDERS = {"safety_alert": safety_alert_email, "reminder": reminder_email}


def build_email(session: Session, message: OutboxMessage, config: Mapping[str, Any],
                mail_from: str) -> EmailMessage:
    kind = message.payload.get("kind")
    if kind not in EMAIL_BUILDERS:
        raise ValueError(f"no email template for outbox kind {kind!r}")
    email = EMAIL_BUILDERS[kind](session, message, config)
    email["From"] = mail_from
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(message.dedupe_key, mail_from)
    return email


def make_sender(session: Session, config: Mapping[str, Any]):
    """``send(message)`` for the dispatcher, by the row's channel; ``send.close()`` ends the
    pass's SMTP session."""
    smtp = SmtpSettings.from_config(config)
    connection = SmtpConnection(smtp) if smtp is not None else None

    def deliver(message: OutboxMessage) -> None:
        if message.channel == "webhook":
            return send_webhook(session, message, config)
        if message.channel != "email":
            raise ChannelNotConfigured(f"channel {message.channel!r} is not available")
        if smtp is None:
            raise ChannelNotConfigured("email is not configured: set HWTRIAL_SMTP_HOST")
        connection.send(build_email(session, message, config, smtp.mail_from))

    def send(message: OutboxMessage) -> None:
        deliver(message)
        if "decision_id" in message.payload:  # the micro-randomisation log records delivery
            session.execute(sa.update(DecisionPoint).where(
                DecisionPoint.id == message.payload["decision_id"], DecisionPoint.sent_at.is_(None))
                .values(sent_at=utcnow()))

    send.close = connection.close if connection is not None else (lambda: None)
    return send
