"""A real SMTP server on loopback (aiosmtpd) that counts what arrives, and the homework
factories (enrol, sign in) the delivery tests drive."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests.homework.conftest import enrol, sign_in  # noqa: F401  (fixtures)


@dataclass
class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 550, ``hang`` stalls DATA."""

    messages: list = field(default_factory=list)
    refuse: bool = False
    hang: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        if self.hang:
            await asyncio.sleep(self.hang)
        if self.refuse:
            return "550 mailbox unavailable"
        with self.lock:
            parsed = email.message_from_bytes(envelope.original_content)
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """``(mailbox, port)`` of a real SMTP server on 127.0.0.1, stopped after the test."""
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def part(mail, subtype: str = "plain") -> str:
    """The decoded ``text/<subtype>`` part of a received email (multipart or not)."""
    for piece in mail.walk():
        if piece.get_content_type() == f"text/{subtype}":
            return piece.get_payload(decode=True).decode(piece.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part in {mail.get_content_type()} email")
