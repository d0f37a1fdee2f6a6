"""Fast local sinks for the dispatch benchmark: a minimal SMTP server and a keep-alive HTTP
webhook receiver (checking the HMAC signature), each an asyncio protocol in its own process so
the sinks are not what limits the dispatcher. They record each arrival's Message-ID /
Idempotency-Key; the benchmark counts them (duplicates and missing) when it stops them.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import re
import socket

from hwtrial.reminders.webhooks import verify

MESSAGE_ID = re.compile(rb"^message-id:\s*(\S+)", re.I | re.M)


class SmtpSink(asyncio.Protocol):
    """Enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT (no pipelining)."""

    def __init__(self, ids: list, counter):
        self.ids, self.counter, self.buffer, self.data = ids, counter, b"", None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, chunk: bytes):
        self.buffer += chunk
        while True:
            if self.data is not None:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                message, self.buffer, self.data = self.buffer[:end], self.buffer[end + 5:], None
                found = MESSAGE_ID.search(message)
                self.ids.append(found.group(1).decode() if found else "")
                self.counter.value += 1
                self.transport.write(b"250 OK\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO" or verb == b"HELO":
                self.transport.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.data = True
                self.transport.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
                return
            else:  # MAIL, RCPT, RSET, NOOP
                self.transport.write(b"250 OK\r\n")


class WebhookSink(asyncio.Protocol):
    """HTTP/1.1 keep-alive POST receiver: checks the signature, answers 200 (401 if wrong)."""

    def __init__(self, ids: list, counter, secret: str):
        self.ids, self.counter, self.secret, self.buffer = ids, counter, secret, b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, chunk: bytes):
        self.buffer += chunk
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = self.buffer[:head_end].split(b"\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(b":") for x in lines[1:])}
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4:head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length:]
            if verify(self.secret, headers.get(b"hwtrial-timestamp", b"").decode(), body,
                      headers.get(b"hwtrial-signature", b"").decode()):
                self.ids.append(json.loads(body)["id"])
                self.counter.value += 1
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            else:
                self.transport.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")


def _serve(kind: str, sock: socket.socket, counter, control, secret: str) -> None:
    ids: list = []

    async def main():
        loop = asyncio.get_running_loop()
        factory = (lambda: SmtpSink(ids, counter)) if kind == "smtp" else (lambda: WebhookSink(ids, counter, secret))
        server = await loop.create_server(factory, sock=sock)
        await loop.run_in_executor(None, control.recv)  # "stop"
        server.close()

    asyncio.run(main())
    control.send(ids)


class Sinks:
    """``processes`` server processes per kind, sharing one listening socket per kind."""

    def __init__(self, secret: str, processes: int = 1):
        self.secret, self.procs = secret, []
        self.ports, self.counters = {}, []
        ctx = mp.get_context("fork")
        for kind in ("smtp", "webhook"):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(512)
            sock.setblocking(False)
            self.ports[kind] = sock.getsockname()[1]
            for _ in range(processes):
                counter = ctx.RawValue("q", 0)
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_serve, args=(kind, sock, counter, child, secret), daemon=True)
                proc.start()
                self.procs.append((kind, proc, parent))
                self.counters.append(counter)
            sock.close()

    def arrived(self) -> int:
        return sum(c.value for c in self.counters)

    def stop(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"smtp": [], "webhook": []}
        for _, _, control in self.procs:
            control.send("stop")
        for kind, proc, control in self.procs:
            out[kind] += control.recv()
            proc.join(10)
        return out
