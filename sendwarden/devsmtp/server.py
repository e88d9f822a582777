"""A local SMTP capture server: STARTTLS and AUTH required, every message kept.

Used by `sendwarden demo`/`dev-smtp` and by the tests. It runs aiosmtpd in a
background thread (aiosmtpd's `Controller`), stores each message in a Maildir
and in memory, and never relays anything.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import mailbox
import ssl
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sendwarden.devsmtp.certs import CertPaths, generate_self_signed_cert

DEFAULT_USERNAME = "sendwarden"
DEFAULT_PASSWORD = "sendwarden-dev"  # noqa: S105 - a local throwaway server's default
SERVER_HOSTNAME = "localhost"


def _drop_login_data_warning(record: logging.LogRecord) -> bool:
    # aiosmtpd itself touches its deprecated Session.login_data on every AUTH.
    return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_drop_login_data_warning)


def _silence_auth_without_tls_warning() -> None:
    # In implicit-TLS mode the whole connection is TLS, but aiosmtpd only counts
    # STARTTLS as encryption and warns about AUTH without it. Installed right
    # before each SMTP instance is built, because test runners reset filters.
    warnings.filterwarnings(
        "ignore",
        message="Requiring AUTH while not requiring TLS",
        category=UserWarning,
        module="aiosmtpd.smtp",
    )


@dataclass(frozen=True)
class CapturedMessage:
    envelope_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


class MessageStore:
    """Thread-safe list of captured messages, mirrored into a Maildir."""

    def __init__(
        self, maildir: Path, on_message: Callable[[CapturedMessage], None] | None = None
    ) -> None:
        self.maildir = mailbox.Maildir(maildir, create=True)
        self._messages: list[CapturedMessage] = []
        self._changed = threading.Condition()
        self._on_message = on_message

    def add(self, message: CapturedMessage) -> None:
        with self._changed:
            self.maildir.add(message.raw)
            self._messages.append(message)
            self._changed.notify_all()
        if self._on_message is not None:
            self._on_message(message)

    def snapshot(self) -> list[CapturedMessage]:
        with self._changed:
            return list(self._messages)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float) -> list[CapturedMessage]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self._messages)}")
            return list(self._messages)


class CaptureHandler:
    """aiosmtpd handler: accept every transaction and store the message."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.store.add(
            CapturedMessage(
                envelope_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
            )
        )
        return "250 2.0.0 Message captured"


class _Controller(Controller):
    """Binds port 0 to a free port and builds a fresh SMTP per connection."""

    def __init__(self, owner: CaptureServer, **kwargs: Any) -> None:
        super().__init__(owner.handler, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        options = self._owner.smtp_options()
        if not options.get("auth_require_tls", True):
            _silence_auth_without_tls_warning()
        return self._owner.smtp_class(self.handler, **options)

    def _create_server(self) -> Any:
        # aiosmtpd binds the requested port as is and has no way to report the
        # one the OS picked for port 0, which tests and the demo need.
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


class CaptureServer:
    """Local SMTP server on `host`; `port=0` picks a free port (see `.port`).

    `implicit_tls=True` wraps the listener in TLS (like port 465) instead of
    offering STARTTLS. The certificate is self-signed; clients trust
    `.ca_file` to keep verification on.
    """

    def __init__(
        self,
        directory: Path,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        implicit_tls: bool = False,
        cert: CertPaths | None = None,
        on_message: Callable[[CapturedMessage], None] | None = None,
    ) -> None:
        self.directory = directory
        self.username = username
        self._password = password
        self.host = host
        self.implicit_tls = implicit_tls
        self.cert = cert or generate_self_signed_cert(directory / "tls")
        self.store = MessageStore(directory / "Maildir", on_message)
        self.handler = self.make_handler()
        self._port = port
        self._controller: _Controller | None = None
        self._tls_context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"CaptureServer(host={self.host!r}, port={self.port!r}, username={self.username!r})"

    # -- hooks for subclasses ------------------------------------------------

    smtp_class: type[SMTP] = SMTP  # the aiosmtpd protocol built for each connection

    def make_handler(self) -> CaptureHandler:
        return CaptureHandler(self.store)

    def server_tls_context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = self._tls_context_for(self.cert)
        return self._tls_context

    def smtp_options(self) -> dict[str, Any]:
        """Keyword arguments for each connection's aiosmtpd `SMTP` instance."""
        starttls = not self.implicit_tls
        return {
            "hostname": SERVER_HOSTNAME,
            "enable_SMTPUTF8": True,
            "tls_context": self.server_tls_context() if starttls else None,
            "require_starttls": starttls,
            "auth_required": True,
            # Under implicit TLS aiosmtpd does not know the transport is
            # encrypted, so its own TLS check would refuse every AUTH.
            "auth_require_tls": starttls,
            "authenticator": self.authenticate,
        }

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, self.username.encode()) & hmac.compare_digest(
            auth_data.password, self._password.encode()
        )
        return AuthResult(success=ok, handled=False)

    # -- lifecycle -------------------------------------------------------------

    @staticmethod
    def _tls_context_for(cert: CertPaths) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert.cert_file, cert.key_file)
        return context

    @property
    def password(self) -> str:
        return self._password

    @property
    def ca_file(self) -> Path:
        return self.cert.cert_file

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._port

    @property
    def messages(self) -> list[CapturedMessage]:
        return self.store.snapshot()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[CapturedMessage]:
        return self.store.wait_for(count, timeout)

    def start(self) -> CaptureServer:
        if self._controller is not None:
            raise RuntimeError("CaptureServer is already running")
        controller = _Controller(
            self,
            hostname=self.host,
            port=self._port,
            ssl_context=self.server_tls_context() if self.implicit_tls else None,
        )
        controller.start()
        self._controller = controller
        self._port = controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
