"""Per-invocation state (global options, settings) and the database/user plumbing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from sendwarden.cli.errors import CliError

if TYPE_CHECKING:  # imported where used: the CLI starts without loading the app
    from sqlalchemy.ext.asyncio import AsyncSession

    from sendwarden.config import Settings
    from sendwarden.storage.db import Database
    from sendwarden.storage.models import User

T = TypeVar("T")

# Commands report their outcome themselves; log lines would only repeat it on stderr
# (and break the one-line error contract). `--debug` shows the configured level.
CLI_LOG_LEVEL = "ERROR"

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        envvar="SENDWARDEN_USER",
        help="Act as this user (env SENDWARDEN_USER); may be omitted when only one user exists.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=1000, help="Rows per page.")]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="Rows to skip.")]


@dataclass
class CliState:
    database_url: str | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Loaded on first use, so `--help` works even with a broken environment."""
        if self._settings is None:
            self._settings = self._load()
        return self._settings

    def _load(self) -> Settings:
        from sendwarden.config import Settings
        from sendwarden.observability.logging import configure_logging
        from sendwarden.policy.addresses import allow_test_domains

        # Read afresh (not the cached get_settings()): one command runs per process, and
        # a test runner invoking several must see each invocation's environment.
        loaded = Settings(database_url=self.database_url) if self.database_url else Settings()
        configure_logging(loaded.sendwarden_log_level if self.debug else CLI_LOG_LEVEL)
        allow_test_domains(loaded.sendwarden_allow_test_domains)
        return loaded

    @property
    def configured_database_url(self) -> str | None:
        return self._settings.database_url if self._settings is not None else self.database_url


# One command runs per process (or per test-runner invocation, each of which goes
# through the root callback that replaces it), so a module-level slot is enough.
_current = CliState()


def begin(state: CliState) -> None:
    global _current
    _current = state


def current() -> CliState:
    return _current


def settings() -> Settings:
    return current().settings


def with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against a fresh engine on the configured database, then dispose of it."""
    from sendwarden.services.database import open_database

    config = settings()

    async def main() -> T:
        db = open_database(config)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def run(db: Database) -> T:
        async with db.transaction() as session:
            return await work(session)

    return with_database(run)


async def acting_user(session: AsyncSession, name: str | None) -> User:
    """The user a command acts for: the named one, or the only one there is."""
    from sendwarden.storage import users

    if name:
        user = await users.get_user_by_name(session, name)
        if user is None:
            raise CliError(f"no user named {name!r} (see `sendwarden users list`)")
        return user
    everyone = await users.list_users(session)
    if len(everyone) == 1:
        return everyone[0]
    if not everyone:
        raise CliError("no user exists yet: create one with `sendwarden users create NAME`")
    raise CliError(f"{len(everyone)} users exist: choose one with --user NAME or SENDWARDEN_USER")
