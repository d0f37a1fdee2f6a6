"""The emails hwtrial sends: a participant's reminder (plain text and HTML, in their locale
and their arm's framing, with a signed link to the task) and the staff safety alert.

Reminder texts come from the Babel catalogs (one set of messages per builtin framing:
``default``, ``self_improvement``, ``community``), unless the study file gives its own under
``notifications.reminder_texts`` (:func:`reminder_texts`). The templates are
``templates/hwtrial/email/reminder.txt`` and ``reminder.html``; the HTML has no script and
no remote content, only the same words and the link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from functools import lru_cache
from html import escape
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import OutboxMessage, Participant, User
from . import mime


@dataclass(frozen=True)
class Email:
    """An email before its envelope headers (From, Message-ID) are added by the channel."""

    to: list[str]
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_bytes(self, mail_from: str, message_id: str) -> bytes:
        if not mail_from.isascii():  # a display name in another script: encode the name only
            mail_from = formataddr(parseaddr(mail_from), charset="utf-8")
        return mime.build({"From": mail_from, "To": ", ".join(self.to), "Subject": self.subject,
                           "Message-ID": message_id, **self.headers}, self.text, self.html)


class NoRecipient(RuntimeError):
    """Nobody to send the message to; the row is retried, then dead-lettered."""


def _(text: str) -> str:
    """Mark for extraction; translated where the email is built."""
    return text


#: Builtin reminder texts per framing variant (msgids of the catalogs).
BUILTIN_TEXTS = {
    "default": {
        "subject": _("A homework task is waiting for you"),
        "intro": _("You have a homework task for your therapy study. It takes a few minutes."),
    },
    "self_improvement": {
        "subject": _("A step for your own progress is waiting"),
        "intro": _("Each task you do builds the skills you are working on. This one takes a few minutes."),
    },
    "community": {
        "subject": _("Others in your study are doing this week's task too"),
        "intro": _("People taking part alongside you are doing the same task. Join them: it takes a few minutes."),
    },
}
BUTTON = _("Open your task")
FOOTER = _("If you would rather not get these reminders, you can pause or stop them on the task page.")


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("hwtrial", "templates/hwtrial/email"),
                              autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True)


def framing_of(definition: Mapping[str, Any], arm_key: str | None) -> str:
    arm = next((a for a in definition.get("arms") or [] if a["key"] == arm_key), None)
    return ((arm or {}).get("features") or {}).get("framing") or "default"


def reminder_texts(definition: Mapping[str, Any], locale: str, framing: str, gettext) -> dict[str, str]:
    """``{subject, intro}``: each from the study file's ``notifications.reminder_texts`` at the
    first of (locale, framing), (locale, default), (default locale, framing), (default locale,
    default) that has it, else the catalog's builtin text of the framing (or of ``default``)."""
    own = (definition.get("notifications") or {}).get("reminder_texts") or {}
    default_locale = definition.get("default_locale") or "en"
    builtin = BUILTIN_TEXTS.get(framing, BUILTIN_TEXTS["default"])
    out = {}
    for key in ("subject", "intro"):
        layers = [(locale, framing), (locale, "default"), (default_locale, framing), (default_locale, "default")]
        found = next((own[loc][var][key] for loc, var in layers if key in own.get(loc, {}).get(var, {})), None)
        out[key] = found if found is not None else gettext(builtin[key])
    return out


def reminder_email(participant: Participant, definition: Mapping[str, Any], link: str, gettext,
                   locale: str) -> Email:
    """A participant's reminder: ``text/plain`` and ``text/html`` alternatives of one text."""
    texts = reminder_texts(definition, locale, framing_of(
        definition, participant.allocation.arm_key if participant.allocation else None), gettext)
    text, html = _rendered(texts["subject"], texts["intro"], gettext(BUTTON), gettext(FOOTER), locale)
    return Email(to=[participant.email], subject=texts["subject"], text=text.replace(_LINK, link),
                 html=html.replace(_LINK, escape(link)), headers={"Content-Language": locale})


#: Stands for the participant's link in a cached rendering (escaping leaves it as it is, and
#: no text contains a NUL).
_LINK = "\x00link\x00"


@lru_cache(maxsize=256)
def _rendered(subject: str, intro: str, button: str, footer: str, locale: str) -> tuple[str, str]:
    """Both bodies of one (texts, locale) with the link left as :data:`_LINK`: a worker
    renders each text once, not twice per email."""
    values = {"subject": subject, "intro": intro, "link": _LINK, "button": button,
              "footer": footer, "locale": locale}
    return (_templates().get_template("reminder.txt").render(values),
            _templates().get_template("reminder.html").render(values))


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


def safety_alert_email(session: Session, message: OutboxMessage, config: Mapping[str, Any]) -> Email:
    """The PHQ-9 item-9 alert for staff: who, which study, which answer; never the arm."""
    payload = message.payload
    recipients = staff_recipients(session, payload)
    if not recipients:
        raise NoRecipient("no recipient: the study has no active coordinator account")
    base = (config.get("HWTRIAL_PUBLIC_URL") or "").rstrip("/") + config.get("HWTRIAL_URL_PREFIX", "")
    where = f"{base}/api/v1/studies/{payload['study_key']}/safety-alerts"
    return Email(to=recipients, subject=f"[hwtrial] Safety alert in study {payload['study_key']}", text=(
        f"A participant's questionnaire answer needs a clinician's attention.\n\n"
        f"Study: {payload['study_key']}\nParticipant id: {payload['participant_id']}\n"
        f"Answer: {payload['reason']}\nAlert id: {payload['alert_id']}\n\n"
        f"Follow your study's safety protocol, then acknowledge the alert: {where}\n"))
