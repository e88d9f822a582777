"""Turning expected failures into one-line messages (exit status 1).

Anything not listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

import socket

from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from sendwarden.policy import InvalidAddress
from sendwarden.services.errors import ServiceError
from sendwarden.storage.users import DuplicateName
from sendwarden.transport.errors import TransportConfigError

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3

_UNINITIALISED_MARKERS = ("no such table", "undefinedtable", 'relation "')


class CliError(Exception):
    """A user error detected by the CLI itself; `str()` is the message to show."""


def safe_url(url: str | None) -> str:
    if not url:
        return "(unset)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def describe(exc: BaseException, database_url: str | None) -> str | None:
    """The message for an expected failure, or None for a bug."""
    if isinstance(exc, CliError | ServiceError | InvalidAddress | DuplicateName):
        return str(exc)
    if isinstance(exc, CommandError):
        return f"migration failed: {exc}"
    if isinstance(exc, TransportConfigError):
        return f"SMTP is not configured correctly: {exc}"
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'value'}: {e['msg']}"
            for e in exc.errors()
        )
        return f"invalid configuration: {problems}"
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        # The parser's own message repeats the URL, which may hold a password.
        return "DATABASE_URL is not a valid database URL"
    if isinstance(exc, DBAPIError):
        return _database_message(exc, database_url)
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return f"cannot reach the database {safe_url(database_url)}: {exc}"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def _database_message(exc: DBAPIError, database_url: str | None) -> str:
    original = str(exc.orig) if exc.orig is not None else str(exc)
    reason = original.strip().splitlines()[0] if original.strip() else type(exc).__name__
    where = safe_url(database_url)
    lowered = f"{type(exc.orig).__name__} {original}".lower()
    if any(marker in lowered for marker in _UNINITIALISED_MARKERS):
        return f"the database {where} is not initialised ({reason}); run `sendwarden init`"
    if exc.connection_invalidated or "unable to open" in lowered or "connect" in lowered:
        return f"cannot open the database {where}: {reason}"
    return f"database error on {where}: {reason}"
