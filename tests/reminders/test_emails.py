"""Reminder emails at a real SMTP server: text and HTML alternatives of the same words, in the
participant's locale and the arm's framing (builtin or the study file's own texts), with a
signed link in both parts that records the click and lands on the task."""

from __future__ import annotations

import email.policy
import re
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import sqlalchemy as sa

from hwtrial.models import HomeworkInstance, OutboxMessage
from hwtrial.reminders.mime import build
from hwtrial.reminders.worker import run_pass
from hwtrial.services.loading import load_study_from_file
from tests.homework.conftest import CSRF, db

from .conftest import part

REPO = Path(__file__).resolve().parents[2]
CONSENT = {"version": "2.1", "method": "web", "locale": "en"}
OWN_TEXTS = """
notifications:
  reminder_texts:
    es:
      community: {subject: "Su grupo le espera"}
"""


@pytest.fixture
def app_config(smtp_server):
    _, port = smtp_server
    return {"HWTRIAL_SMTP_HOST": "127.0.0.1", "HWTRIAL_SMTP_PORT": port,
            "HWTRIAL_MAIL_FROM": "Estudio Clínico <trials@clinic.example>",
            "HWTRIAL_PUBLIC_URL": "https://trials.example"}


def load_framed(app, tmp_path, framing: str | None, extra: str = "") -> None:
    text = (REPO / "studies" / "reminder-rct.yaml").read_text()
    if framing:
        text = text.replace("    label: Email reminders\n    features:\n",
                            f"    label: Email reminders\n    features:\n      framing: {framing}\n")
    path = tmp_path / "framed.yaml"
    path.write_text(text + extra)
    with app.app_context():
        load_study_from_file(db(app), "test", str(path), activate=True)
        db(app).commit()


def send_first_reminder(app, enrol, mailbox, locale: str):
    pid = enrol("reminder-rct", arm="reminders", consent=CONSENT, timezone="Europe/London",
                email="pat@home.example", locale=locale)
    with app.app_context():
        open_at = db(app).scalar(sa.select(sa.func.min(HomeworkInstance.open_at))
                                 .where(HomeworkInstance.participant_id == pid))
    run_pass(app, open_at)
    with app.app_context():
        first = db(app).scalar(sa.select(OutboxMessage).where(OutboxMessage.participant_id == pid)
                               .order_by(OutboxMessage.due_at).limit(1))
    assert run_pass(app, first.due_at).dispatch.sent >= 1
    return pid, mailbox.messages[0][1]


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def test_reminder_has_text_and_html_with_a_working_link(app, smtp_server, enrol, tmp_path):
    mailbox, _ = smtp_server
    load_framed(app, tmp_path, None)
    pid, mail = send_first_reminder(app, enrol, mailbox, "en")
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.get_payload()] == ["text/plain", "text/html"]
    assert subject(mail) == "A homework task is waiting for you"
    assert "Estudio Cl" in str(email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)["From"])
    text, html = part(mail), part(mail, "html")
    assert "You have a homework task" in text and "You have a homework task" in html
    assert "<script" not in html and "pause or stop" in text
    link = re.search(r'href="(https://trials\.example[^"]+)"', html)[1].replace("&amp;", "&")
    assert link in text  # the same signed link in both parts
    browser = app.test_client()
    path = link.removeprefix("https://trials.example")
    page = browser.get(path).get_data(as_text=True)
    token, reminder = path.split("token=")[1].split("&reminder=")
    answer = browser.post("/p/start", data={"csrf_token": CSRF.search(page)[1], "token": token,
                                            "reminder": reminder})
    with app.app_context():
        instance_id = db(app).get(OutboxMessage, int(reminder)).payload["instance_id"]
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/p/tasks/{instance_id}")


def test_framing_and_locale_choose_the_texts(app, smtp_server, enrol, tmp_path):
    mailbox, _ = smtp_server
    load_framed(app, tmp_path, "community")
    _, mail = send_first_reminder(app, enrol, mailbox, "es")
    assert subject(mail) == "Otras personas de su estudio también hacen la tarea de esta semana"
    assert mail["Content-Language"] == "es"
    assert "Únase" in part(mail) and "Únase" in part(mail, "html") and 'lang="es"' in part(mail, "html")


def test_the_study_file_gives_its_own_texts_per_locale_and_framing(app, smtp_server, enrol, tmp_path):
    mailbox, _ = smtp_server
    load_framed(app, tmp_path, "community", OWN_TEXTS)
    _, mail = send_first_reminder(app, enrol, mailbox, "es")
    assert subject(mail) == "Su grupo le espera"  # the study's own subject
    assert "Únase" in part(mail)  # the intro it does not give comes from the catalog


def test_mime_headers_cannot_be_split_and_non_ascii_round_trips():
    data = build({"From": "a@x.example", "To": "b@x.example", "Subject": "Hola\r\nBcc: evil@x.example ñ",
                  "Message-ID": "<1@x.example>"}, "línea\n.\nfin", "<p>ñ</p>")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Hola Bcc: evil@x.example ñ"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "línea\n.\nfin"
