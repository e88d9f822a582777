"""A fault-injecting SMTP server for transport tests, built on CaptureServer.

Faults are read per connection/command, so a test can break the server, watch
a send fail, repair it (`server.faults = Faults()`) and check that the same
pool recovers.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from sendwarden.devsmtp.certs import generate_self_signed_cert
from sendwarden.devsmtp.server import CaptureHandler, CaptureServer
from sendwarden.transport.config import SmtpConfig

USERNAME = "sender@example.com"
PASSWORD = "s3cret-Pa55word!"


@dataclass(frozen=True)
class Faults:
    no_starttls: bool = False
    untrusted_cert: bool = False
    reject_auth: bool = False
    mail_reply: str | None = None  # e.g. "421 4.3.2 Service not available"
    rcpt_reply: str | None = None  # e.g. "550 5.1.1 No such user"
    data_reply: str | None = None  # e.g. "552 5.3.4 Message too big"
    drop_during_data: bool = False
    stall_seconds: float = 0.0  # sleep before answering the end of DATA
    # Answer this stage with a reply that has no status code (see GARBLE_STAGES).
    garble: str | None = None


# Where a garbled reply can be injected: every reply the client reads, in order.
# "data" is the reply to the DATA command (354); "final" the reply to the final dot,
# i.e. after the message was stored.
GARBLE_STAGES = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "final")
GARBLED_REPLY = "OK queued as 4711"


class GarblingSMTP(SMTP):
    """aiosmtpd's SMTP that can replace every reply of one stage by `GARBLED_REPLY`."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._stage = "greeting"

    def _garbling(self, stage: str) -> bool:
        handler = self.event_handler
        return isinstance(handler, FaultyHandler) and handler.faults.garble == stage

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        stage = self._stage
        if stage == "data" and not text.startswith("354"):
            stage = "final"
        await super().push(GARBLED_REPLY if self._garbling(stage) else status)

    async def _in_stage(self, stage: str, command: Any) -> None:
        self._stage = stage
        await command

    async def smtp_EHLO(self, hostname: str) -> None:
        await self._in_stage("ehlo", super().smtp_EHLO(hostname))

    async def smtp_STARTTLS(self, arg: str) -> None:
        await self._in_stage("starttls", super().smtp_STARTTLS(arg))

    async def smtp_AUTH(self, arg: str) -> None:
        await self._in_stage("auth", super().smtp_AUTH(arg))

    async def smtp_MAIL(self, arg: str | None) -> None:
        await self._in_stage("mail", super().smtp_MAIL(arg))

    async def smtp_RCPT(self, arg: str | None) -> None:
        await self._in_stage("rcpt", super().smtp_RCPT(arg))

    async def smtp_DATA(self, arg: str) -> None:
        await self._in_stage("data", super().smtp_DATA(arg))


class FaultyHandler(CaptureHandler):
    def __init__(self, server: FaultyServer) -> None:
        super().__init__(server.store)
        self._server = server

    @property
    def faults(self) -> Faults:
        return self._server.faults

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        self._server.count("NOOP")
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._server.count("QUIT")
        return "221 2.0.0 Bye"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self._server.faults.mail_reply
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self._server.faults.rcpt_reply
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        faults = self._server.faults
        if faults.stall_seconds:
            await asyncio.sleep(faults.stall_seconds)
        if faults.drop_during_data:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "250 never seen"
        if faults.data_reply is not None:
            return faults.data_reply
        return await super().handle_DATA(server, session, envelope)


class FaultyServer(CaptureServer):
    smtp_class = GarblingSMTP

    def __init__(self, directory: Path, *, idle_timeout: float = 300, **kwargs: Any) -> None:
        kwargs.setdefault("username", USERNAME)
        kwargs.setdefault("password", PASSWORD)
        super().__init__(directory, **kwargs)
        self._faults = Faults()
        self._faults_lock = threading.Lock()
        self._untrusted_context: ssl.SSLContext | None = None
        self._commands: Counter[str] = Counter()
        self.idle_timeout = idle_timeout

    def count(self, command: str) -> None:
        with self._faults_lock:
            self._commands[command] += 1

    def commands_seen(self, command: str) -> int:
        with self._faults_lock:
            return self._commands[command]

    @property
    def faults(self) -> Faults:
        with self._faults_lock:
            return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        with self._faults_lock:
            self._faults = value

    def make_handler(self) -> CaptureHandler:
        return FaultyHandler(self)

    def server_tls_context(self) -> ssl.SSLContext:
        if not self.faults.untrusted_cert:
            return super().server_tls_context()
        if self._untrusted_context is None:
            other = generate_self_signed_cert(self.directory / "untrusted", name="untrusted")
            self._untrusted_context = self._tls_context_for(other)
        return self._untrusted_context

    def smtp_options(self) -> dict[str, Any]:
        options = super().smtp_options()
        options["timeout"] = self.idle_timeout
        if self.faults.no_starttls and not self.implicit_tls:
            options.update(tls_context=None, require_starttls=False, auth_require_tls=False)
        return options

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.faults.reject_auth:
            return AuthResult(success=False, handled=False)
        return super().authenticate(server, session, envelope, mechanism, auth_data)

    def config(self, **overrides: Any) -> SmtpConfig:
        """Client settings for this server: verified TLS against its own certificate."""
        values: dict[str, Any] = {
            "host": "localhost",
            "port": self.port,
            "username": USERNAME,
            "password": PASSWORD,
            "verify_tls": True,
            "ca_file": self.ca_file,
            "timeout": 5.0,
            "pool_size": 2,
            "max_messages_per_connection": 100,
            "helo_name": "client.test",
        }
        values.update(overrides)
        return SmtpConfig(**values)


@contextmanager
def running_smtp_server(directory: Path, **kwargs: Any) -> Iterator[FaultyServer]:
    """`with running_smtp_server(tmp_path) as server:`; kwargs go to CaptureServer."""
    server = FaultyServer(directory, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
