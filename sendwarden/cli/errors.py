"""Turning expected failures into one-line messages (exit status 1).

Anything not listed here is a bug and keeps its traceback.
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3

_UNINITIALISED_MARKERS = ("no such table", "undefinedtable", 'relation "')


class CliError(Exception):
    """A user error detected by the CLI itself; `str()` is the message to show."""


def _loaded(module: str, *names: str) -> tuple[Any, ...]:
    """The named classes of `module` if it is imported, else none: an exception of a
    class never imported cannot have been raised, and importing it here would make
    every command start slower (the CLI loads a command's dependencies lazily)."""
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names) if loaded is not None else ()


def safe_url(url: str | None) -> str:
    if not url:
        return "(unset)"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def describe(exc: BaseException, database_url: str | None) -> str | None:
    """The message for an expected failure, or None for a bug."""
    expected = (
        CliError,
        *_loaded("sendwarden.services.errors", "ServiceError"),
        *_loaded("sendwarden.policy.addresses", "InvalidAddress"),
        *_loaded("sendwarden.storage.users", "DuplicateName"),
    )
    if isinstance(exc, expected):
        return str(exc)
    if isinstance(exc, _loaded("alembic.util", "CommandError")):
        return f"migration failed: {exc}"
    if isinstance(exc, _loaded("sendwarden.transport.errors", "TransportConfigError")):
        return f"SMTP is not configured correctly: {exc}"
    if isinstance(exc, _loaded("pydantic", "ValidationError")):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'value'}:"
            f" {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        return f"invalid configuration: {problems}"
    if isinstance(exc, _loaded("sqlalchemy.exc", "ArgumentError", "NoSuchModuleError")):
        # The parser's own message repeats the URL, which may hold a password.
        return "DATABASE_URL is not a valid database URL"
    if isinstance(exc, _loaded("sqlalchemy.exc", "DBAPIError")):
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
