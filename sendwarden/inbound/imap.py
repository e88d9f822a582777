"""Fetch new messages from the reply mailbox over IMAP (TLS only, read-only).

The caller owns the cursor (UIDVALIDITY + last processed UID) and stores it
after processing a batch; this module only talks to the server. Every
argument reaches the server through imapclient, which quotes it: no command
is assembled from configuration or mailbox data here.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from sendwarden.config import Settings
from sendwarden.tls import client_context

IMPLICIT_TLS_PORT = 993
BODY_ITEM = b"BODY[]"
# Quoting cannot make these safe inside an IMAP quoted string: they would end the command line.
_FORBIDDEN_CHARACTERS = frozenset("\r\n\0")


class ImapConfigError(Exception):
    """The IMAP settings are missing or unusable."""


class ImapError(Exception):
    """Connecting, TLS, login or an IMAP command failed. Never contains the password."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    folder: str
    fetch_limit: int
    verify_tls: bool
    ca_file: Path | None
    timeout: float = 30.0
    # None: implicit TLS on port 993, STARTTLS elsewhere. Set it for servers (and test
    # fixtures) that speak implicit TLS on another port.
    implicit_tls: bool | None = None

    @property
    def uses_implicit_tls(self) -> bool:
        if self.implicit_tls is None:
            return self.port == IMPLICIT_TLS_PORT
        return self.implicit_tls

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ImapConfigError(f"IMAP_PORT must be 1-65535, got {self.port}")
        if self.fetch_limit < 1:
            raise ImapConfigError(f"IMAP_FETCH_LIMIT must be at least 1, got {self.fetch_limit}")
        if self.timeout <= 0:
            raise ImapConfigError("the IMAP timeout must be positive")
        for name, value in (
            ("IMAP_HOST", self.host),
            ("IMAP_USER", self.username),
            ("IMAP_PASS", self.password),
            ("IMAP_FOLDER", self.folder),
        ):
            if not value:
                raise ImapConfigError(f"{name} must not be empty")
            if _FORBIDDEN_CHARACTERS.intersection(value):
                raise ImapConfigError(f"{name} must not contain CR, LF or NUL characters")

    @classmethod
    def from_settings(cls, s: Settings) -> ImapConfig:
        missing = [
            name
            for name, value in (
                ("IMAP_HOST", s.imap_host),
                ("IMAP_USER", s.imap_user),
                ("IMAP_PASS", s.imap_pass),
            )
            if not value
        ]
        if missing or s.imap_host is None or s.imap_user is None or s.imap_pass is None:
            raise ImapConfigError(f"IMAP is not configured: set {', '.join(missing)}")
        return cls(
            host=s.imap_host,
            port=s.imap_port,
            username=s.imap_user,
            password=s.imap_pass.get_secret_value(),
            folder=s.imap_folder,
            fetch_limit=s.imap_fetch_limit,
            verify_tls=s.imap_verify_tls,
            ca_file=s.imap_ca_file,
        )


@dataclass(frozen=True)
class MailboxCursor:
    uidvalidity: int
    last_uid: int

    def __post_init__(self) -> None:
        if self.uidvalidity < 0 or self.last_uid < 0:
            raise ValueError(f"a mailbox cursor cannot be negative: {self}")


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class FetchBatch:
    uidvalidity: int
    messages: tuple[FetchedMessage, ...]
    more_pending: bool
    # True when the stored cursor belonged to another UIDVALIDITY: drop it, UIDs restarted.
    reset: bool

    @property
    def next_cursor(self) -> MailboxCursor | None:
        """The cursor to store once every message of this batch is processed.

        None means "keep the cursor you have": nothing new arrived under the
        same UIDVALIDITY. After a reset an empty batch still yields a cursor,
        so the new UIDVALIDITY replaces the stale one.
        """
        if self.messages:
            return MailboxCursor(self.uidvalidity, max(m.uid for m in self.messages))
        if self.reset:
            return MailboxCursor(self.uidvalidity, 0)
        return None


async def fetch_new_messages(
    config: ImapConfig, cursor: MailboxCursor | None, *, limit: int | None = None
) -> FetchBatch:
    """Fetch up to `limit` (default `config.fetch_limit`) messages after `cursor`, oldest first."""
    batch_size = config.fetch_limit if limit is None else limit
    if batch_size < 1:
        raise ValueError(f"limit must be at least 1, got {batch_size}")
    return await asyncio.to_thread(_fetch_blocking, config, cursor, batch_size)


def _fetch_blocking(config: ImapConfig, cursor: MailboxCursor | None, limit: int) -> FetchBatch:
    where = f"{config.username} at {config.host}:{config.port}"
    try:
        client = _connect(config)
        try:
            try:
                client.login(config.username, config.password)
            except LoginError as exc:
                raise ImapError(
                    f"IMAP login failed for {where}: {_describe(exc, config)}"
                ) from None
            return _fetch_from_folder(client, config, cursor, limit)
        finally:
            _close_quietly(client)
    except ImapError:
        raise
    except ssl.SSLError as exc:
        raise ImapError(f"IMAP TLS failure with {where}: {_describe(exc, config)}") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"IMAP failure with {where}: {_describe(exc, config)}") from None


def _connect(config: ImapConfig) -> IMAPClient:
    context = _tls_context(config)
    if config.uses_implicit_tls:
        return IMAPClient(
            config.host, config.port, ssl=True, ssl_context=context, timeout=config.timeout
        )
    client = IMAPClient(config.host, config.port, ssl=False, timeout=config.timeout)
    try:
        if not client.has_capability("STARTTLS"):
            raise ImapError(
                f"{config.host}:{config.port} does not offer STARTTLS; "
                "refusing to log in without TLS (use port 993 for implicit TLS)"
            )
        client.starttls(context)
    except BaseException:
        _close_quietly(client)
        raise
    return client


def _tls_context(config: ImapConfig) -> ssl.SSLContext:
    return client_context(verify=config.verify_tls, ca_file=config.ca_file)


def _fetch_from_folder(
    client: IMAPClient, config: ImapConfig, cursor: MailboxCursor | None, limit: int
) -> FetchBatch:
    try:
        selected = client.select_folder(config.folder, readonly=True)
    except imaplib.IMAP4.error as exc:
        raise ImapError(
            f"cannot open IMAP folder {config.folder!r}: {_describe(exc, config)}"
        ) from None
    uidvalidity = _uidvalidity(selected, config.folder)

    same_mailbox = cursor is not None and cursor.uidvalidity == uidvalidity
    last_uid = cursor.last_uid if cursor is not None and same_mailbox else 0
    # `n:*` always matches the highest UID, even when it is below n: filter again.
    found = client.search(["UID", f"{last_uid + 1}:*"])
    new_uids = sorted(uid for uid in found if uid > last_uid)
    taken = new_uids[:limit]

    fetched = client.fetch(taken, ["BODY.PEEK[]"]) if taken else {}
    # A message expunged between SEARCH and FETCH is absent: nothing left to process.
    messages = tuple(
        FetchedMessage(uid=uid, raw=bytes(fetched[uid][BODY_ITEM]))
        for uid in taken
        if uid in fetched and BODY_ITEM in fetched[uid]
    )
    return FetchBatch(
        uidvalidity=uidvalidity,
        messages=messages,
        more_pending=len(new_uids) > len(taken),
        reset=cursor is not None and not same_mailbox,
    )


def _uidvalidity(select_response: dict[bytes, object], folder: str) -> int:
    value = select_response.get(b"UIDVALIDITY")
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], int):
        return value[0]
    raise ImapError(f"the server sent no UIDVALIDITY for folder {folder!r}")


def _describe(exc: BaseException, config: ImapConfig) -> str:
    """The error text, with the password blanked in case a server echoed it."""
    text = str(exc) or type(exc).__name__
    return text.replace(config.password, "***")


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.shutdown()


class ImapLoginRefused(ImapError):
    """The server refused IMAP_USER/IMAP_PASS."""


class ImapFolderMissing(ImapError):
    """IMAP_FOLDER cannot be opened."""


def check_mailbox(config: ImapConfig) -> int:
    """Log in and open the folder read-only, as a poll would, without fetching anything
    (`sendwarden doctor`); returns the number of messages in the folder."""
    client = _connect(config)
    try:
        try:
            client.login(config.username, config.password)
        except LoginError as exc:
            raise ImapLoginRefused(_describe(exc, config)) from None
        try:
            selected = client.select_folder(config.folder, readonly=True)
        except imaplib.IMAP4.error as exc:
            raise ImapFolderMissing(_describe(exc, config)) from None
        exists = selected.get(b"EXISTS", 0)
        return exists if isinstance(exists, int) else 0
    finally:
        _close_quietly(client)
