"""FastAPI dependencies: the app state and the authenticated user (from the key only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.api.state import AppState
from sendwarden.storage.models import User
from sendwarden.storage.users import Authenticated

bearer = HTTPBearer(auto_error=False, description="API key created with `sendwarden keys create`")

MAX_KEY_LENGTH = 200


async def get_state(request: Request) -> AppState:
    # async although it does not await: FastAPI runs a plain `def` dependency in a
    # thread pool, a thread hop on every request.
    state: AppState = request.app.state.sendwarden
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.db.transaction() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def get_read_session(state: State) -> AsyncIterator[AsyncSession]:
    """For routes that only read: on SQLite no write lock, no queueing behind writers."""
    async with state.db.read() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(get_read_session)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def _authenticate(
    request: Request,
    state: AppState,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    provisional: bool,
) -> Authenticated:
    client = request.client.host if request.client else "unknown"
    if credentials is None:
        missing = _unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
        raise await state.auth_limit.refuse(client, missing)
    key = credentials.credentials
    if len(key) > MAX_KEY_LENGTH or not key.isascii():
        raise await state.auth_limit.refuse(client, _unauthorized("Invalid API key"))
    # Checked even when the client is over its failure limit: a valid key is always served.
    if provisional:
        found = await state.keys.check_provisional(key)
    else:
        found = await state.keys.check(key)
        if found is not None and found.touch_due:
            await state.keys.touch(found.key_id)
    if found is None:
        raise await state.auth_limit.refuse(client, invalid_key_error())
    return found


def invalid_key_error() -> HTTPException:
    return _unauthorized("Invalid or revoked API key")


async def current_user(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    return (await _authenticate(request, state, credentials, provisional=False)).user


async def provisional_key(request: Request) -> Authenticated:
    """The key's user, possibly from a cache of recent checks.

    Only for routes that confirm the key in their own transaction
    (`storage.users.active_key_ids`) and answer `invalid_key_error()` when it is gone.
    Called by the route itself rather than through `Depends`: see `api.lean`.
    """
    state: AppState = request.app.state.sendwarden
    return await _authenticate(request, state, await bearer(request), provisional=True)


CurrentUser = Annotated[User, Depends(current_user)]
