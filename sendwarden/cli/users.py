"""`sendwarden users ...` and `sendwarden keys ...`: accounts and API keys.

A new key is always the last line of standard output so scripts can take it
with `| tail -n 1`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.errors import CliError
from sendwarden.cli.output import print_page
from sendwarden.cli.state import JsonOption, LimitOption, OffsetOption, in_transaction
from sendwarden.storage import users
from sendwarden.storage.models import ApiKey, User

users_app = typer.Typer(help="Create and list users.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Create, list and revoke API keys (keys are shown once, stored hashed).",
    no_args_is_help=True,
)

DEFAULT_KEY_NAME = "default"


def _print_new_key(issued: users.IssuedKey, owner: str) -> None:
    typer.echo(f"API key {issued.key.id} ({issued.key.name!r}) for {owner}; shown only once:")
    typer.echo(issued.plaintext)


@users_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    admin: Annotated[bool, typer.Option("--admin", help="May manage global suppressions.")] = False,
) -> None:
    """Create a user and print a first API key as the last line."""
    name = name.strip()
    if not name:
        raise CliError("the user name must not be empty")

    async def work(session: AsyncSession) -> tuple[User, users.IssuedKey]:
        user = await users.create_user(session, name, is_admin=admin)
        return user, await users.issue_key(session, user, DEFAULT_KEY_NAME)

    user, issued = in_transaction(work)
    typer.echo(f"Created user {user.name} (id {user.id}{', admin' if user.is_admin else ''}).")
    _print_new_key(issued, user.name)


@users_app.command("list")
def list_users(
    limit: LimitOption = 100, offset: OffsetOption = 0, as_json: JsonOption = False
) -> None:
    """List users."""

    async def work(session: AsyncSession) -> list[User]:
        return await users.list_users(session)

    rows = in_transaction(work)
    records = [
        {"id": u.id, "name": u.name, "is_admin": u.is_admin, "created_at": u.created_at}
        for u in rows
    ]
    print_page(
        records[offset : offset + limit],
        [("ID", "id"), ("Name", "name"), ("Admin", "is_admin"), ("Created (UTC)", "created_at")],
        total=len(records),
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Argument(help="Name of the user who gets the key.")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise the key by.")] = "cli",
) -> None:
    """Add an API key for USER and print it as the last line."""

    async def work(session: AsyncSession) -> users.IssuedKey:
        owner = await users.get_user_by_name(session, user)
        if owner is None:
            raise CliError(f"no user named {user!r} (see `sendwarden users list`)")
        return await users.issue_key(session, owner, name)

    _print_new_key(in_transaction(work), user)


def key_record(key: ApiKey, owner: str) -> dict[str, Any]:
    """What may be shown about a key: never its hash, never the key itself."""
    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "user": owner,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


@keys_app.command("list")
def list_keys(
    user: Annotated[
        str | None, typer.Option("--user", help="Only this user's keys.", show_default=False)
    ] = None,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
    as_json: JsonOption = False,
) -> None:
    """List API keys (id, prefix, name, user, dates); keys themselves cannot be shown."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        everyone = {u.id: u.name for u in await users.list_users(session)}
        owner_id = None
        if user is not None:
            owner = await users.get_user_by_name(session, user)
            if owner is None:
                raise CliError(f"no user named {user!r} (see `sendwarden users list`)")
            owner_id = owner.id
        keys = await users.list_keys(session, owner_id)
        return [key_record(k, everyone.get(k.user_id, "?")) for k in keys]

    records = in_transaction(work)
    if not as_json:  # the table shows the prefix as it starts the key
        records = [{**r, "shown_prefix": f"sw_{r['prefix']}"} for r in records]
    print_page(
        records[offset : offset + limit],
        [
            ("ID", "id"),
            ("Prefix", "shown_prefix"),
            ("Name", "name"),
            ("User", "user"),
            ("Created (UTC)", "created_at"),
            ("Last used", "last_used_at"),
            ("Revoked", "revoked_at"),
        ],
        total=len(records),
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[int, typer.Argument(help="ID from `keys list`.", min=1)]) -> None:
    """Revoke an API key at once; requests using it get 401 from then on."""

    async def work(session: AsyncSession) -> bool:
        return await users.revoke_key(session, key_id)

    if not in_transaction(work):
        raise CliError(f"no active API key with id {key_id}")
    typer.echo(f"Revoked API key {key_id}.")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
