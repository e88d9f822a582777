"""A small pool of authenticated TLS SMTP connections.

A TLS handshake costs more than sending a message, so connections are kept and
reused. Any error discards the connection it happened on: the next send opens
a fresh one instead of guessing what state the old one is in.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import aiosmtplib

from sendwarden.policy.addresses import InvalidAddress, a_label
from sendwarden.tls import client_context
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.errors import (
    DeliveryError,
    DeliveryStage,
    HeaderInjectionError,
    InvalidAddressError,
)
from sendwarden.transport.message import needs_smtputf8

log = logging.getLogger(__name__)

# An idle connection older than this gets a NOOP before it is trusted again:
# servers commonly drop idle clients after 30-300 s.
IDLE_CHECK_AFTER_SECONDS = 30.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class DeliveryReceipt:
    code: int
    message: str  # the server's final reply to DATA


@dataclass
class PoolStats:
    connections_opened: int = 0
    connections_discarded: int = 0
    messages_sent: int = 0


@dataclass(eq=False)
class _Connection:
    smtp: aiosmtplib.SMTP
    messages_sent: int = 0
    last_used: float = 0.0


def build_tls_context(config: SmtpConfig) -> ssl.SSLContext:
    return client_context(verify=config.verify_tls, ca_file=config.ca_file)


def smtp_client(config: SmtpConfig, tls_context: ssl.SSLContext | None = None) -> aiosmtplib.SMTP:
    """An unconnected client for `config`: implicit TLS on 465, else STARTTLS done by hand
    (so that a server without it is refused, never used in plaintext)."""
    return aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        local_hostname=config.helo_name,
        timeout=config.timeout,
        use_tls=config.uses_implicit_tls,
        start_tls=False,
        tls_context=tls_context or build_tls_context(config),
    )


async def _step(stage: DeliveryStage, awaitable: Awaitable[_T]) -> _T:
    """Await one SMTP step and translate whatever goes wrong into a DeliveryError."""
    try:
        return await awaitable
    except DeliveryError:
        raise
    except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
        raise DeliveryError("timeout", summary=f"timeout during {stage}", during=stage) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if not 400 <= exc.code < 600:
            # No definite refusal: a garbled line (aiosmtplib's code -1) or an
            # unexpected 1xx-3xx. During DATA the server may have stored the
            # message, so the outcome is unknown (DeliveryError.outcome_unknown).
            raise DeliveryError(
                stage,
                summary=f"unreadable reply during {stage}",
                server_message=exc.message,
                during=stage,
            ) from exc
        raise DeliveryError(stage, code=exc.code, server_message=exc.message) from exc
    except aiosmtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(stage, summary=f"connection lost during {stage}") from exc
    except ssl.SSLError as exc:
        raise DeliveryError("tls", summary="tls handshake failed") from exc
    except aiosmtplib.SMTPConnectError as exc:
        if isinstance(exc.__cause__, ssl.SSLError):
            raise DeliveryError("tls", summary="tls handshake failed") from exc
        raise DeliveryError("connect", summary="cannot connect") from exc
    except aiosmtplib.SMTPException as exc:
        failed_stage: DeliveryStage = "auth" if stage == "auth" else "protocol"
        raise DeliveryError(
            failed_stage, summary=f"{stage} failed", server_message=exc.message
        ) from exc
    except OSError as exc:
        raise DeliveryError(stage, summary=f"network error during {stage}") from exc


def _envelope_address(field: str, address: str) -> str:
    """The address as it goes into MAIL FROM/RCPT TO: IDN domain as A-labels."""
    if any(char in address for char in "\r\n\x00"):
        raise HeaderInjectionError(field)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddressError(field)
    if domain.isascii():
        return address
    try:
        return f"{local}@{a_label(domain)}"
    except InvalidAddress as exc:
        raise InvalidAddressError(field) from exc


class SmtpPool:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._tls_context = build_tls_context(config)
        self._slots = asyncio.Semaphore(config.pool_size)
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._closed = False
        self.stats = PoolStats()

    @property
    def size(self) -> int:
        """Open connections, idle or in use."""
        return len(self._idle) + len(self._busy)

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> DeliveryReceipt:
        if self._closed:
            raise RuntimeError("SmtpPool is closed")
        if not recipients:
            raise ValueError("at least one recipient is required")
        envelope_sender = _envelope_address("sender", sender)
        envelope_recipients = [_envelope_address("recipient", r) for r in recipients]
        smtputf8 = any(needs_smtputf8(a) for a in [envelope_sender, *envelope_recipients])

        async with self._slots:
            connection = await self._checkout()
            try:
                reply = await self._transaction(
                    connection.smtp, raw, envelope_sender, envelope_recipients, smtputf8
                )
            except BaseException as exc:
                self._discard(connection, exc)
                raise
            await self._checkin(connection)
        self.stats.messages_sent += 1
        return DeliveryReceipt(code=reply.code, message=reply.message)

    async def close(self) -> None:
        """QUIT every idle connection; busy ones are closed when their send ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(connection) for connection in idle))

    async def _transaction(
        self,
        smtp: aiosmtplib.SMTP,
        raw: bytes,
        sender: str,
        recipients: list[str],
        smtputf8: bool,
    ) -> aiosmtplib.SMTPResponse:
        options: list[str] = []
        if smtp.supports_extension("size"):
            options.append(f"SIZE={len(raw)}")
        if not raw.isascii() and smtp.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        if smtputf8:
            if not smtp.supports_extension("smtputf8"):
                raise DeliveryError("protocol", summary="server does not support SMTPUTF8")
            options.append("SMTPUTF8")
        encoding = "utf-8" if smtputf8 else "ascii"
        await _step("mail", smtp.mail(sender, options=options, encoding=encoding))
        # Every recipient must be accepted before DATA: a partial delivery
        # cannot be reported as one outcome.
        for recipient in recipients:
            await _step("rcpt", smtp.rcpt(recipient, encoding=encoding))
        return await _step("data", smtp.data(raw))

    async def _checkout(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()  # most recently used first: it is the warmest
            self._busy.add(connection)
            try:
                alive = await self._is_alive(connection)
            except BaseException:  # cancelled mid-NOOP: the connection state is unknown
                self._discard(connection, None)
                raise
            if alive:
                return connection
            self._discard(connection, None)
        connection = _Connection(smtp=await self._open())
        self._busy.add(connection)
        return connection

    async def _is_alive(self, connection: _Connection) -> bool:
        if not connection.smtp.is_connected:
            return False
        if time.monotonic() - connection.last_used < IDLE_CHECK_AFTER_SECONDS:
            return True
        try:
            await connection.smtp.noop()
        except (aiosmtplib.SMTPException, OSError):
            return False
        return True

    async def _checkin(self, connection: _Connection) -> None:
        connection.messages_sent += 1
        connection.last_used = time.monotonic()
        if self._closed or connection.messages_sent >= self._config.max_messages_per_connection:
            self._busy.discard(connection)
            await self._quit(connection)
            return
        self._busy.discard(connection)
        self._idle.append(connection)

    def _discard(self, connection: _Connection, error: BaseException | None) -> None:
        self._busy.discard(connection)
        connection.smtp.close()
        self.stats.connections_discarded += 1
        if error is not None:
            # str(DeliveryError) is a classification without server text or secrets.
            reason = str(error) if isinstance(error, DeliveryError) else type(error).__name__
            log.info("smtp connection discarded after error: %s", reason)

    async def _quit(self, connection: _Connection) -> None:
        try:
            await connection.smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass  # the goodbye is a courtesy; the socket is closed either way
        finally:
            connection.smtp.close()

    async def _open(self) -> aiosmtplib.SMTP:
        config = self._config
        smtp = smtp_client(config, self._tls_context)
        try:
            await _step("connect", smtp.connect())
            await _step("protocol", smtp.ehlo())
            if not config.uses_implicit_tls:
                if not smtp.supports_extension("starttls"):
                    # Never fall back to plaintext: credentials and mail would be exposed.
                    raise DeliveryError("tls", summary="server does not offer STARTTLS")
                await _step("tls", smtp.starttls())
                await _step("protocol", smtp.ehlo())  # RFC 3207: forget pre-TLS state
            if config.username is not None:
                await self._login(smtp, config.username, config.password or "")
        except BaseException as exc:
            smtp.close()
            if isinstance(exc, DeliveryError):
                exc.endpoint = f"{config.host}:{config.port}"
            raise
        self.stats.connections_opened += 1
        return smtp

    @staticmethod
    async def _login(smtp: aiosmtplib.SMTP, username: str, password: str) -> None:
        try:
            await _step("auth", smtp.login(username, password))
        except DeliveryError as exc:
            # A server echoing the AUTH exchange must not land the secret in storage.
            plain = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
            for secret in (password, plain, base64.b64encode(password.encode()).decode()):
                if secret:
                    exc.server_message = exc.server_message.replace(secret, "***")
            raise
