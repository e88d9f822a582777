"""Dashboard sign-in: an API key becomes a session cookie; CSRF tokens for forms.

The cookie holds a random token, never the API key; the database keeps only the
token's hash (table ui_sessions), so signing out ends the session on the server too,
and revoking the key (or deleting its user) ends all of its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select

from sendwarden.api.state import AppState
from sendwarden.storage.models import ApiKey, UiSession, User
from sendwarden.storage.types import utcnow

SESSION_COOKIE = "sw_session"
LOGIN_COOKIE = "sw_signin"
SESSION_MAX_AGE = 12 * 3600
LOGIN_MAX_AGE = 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the dashboard sees it."""

    user: User
    key_id: int
    nonce: str

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_admin)

    @property
    def scope(self) -> int | None:
        """The user id rows are filtered by; None (every user) for an admin."""
        return None if self.user.is_admin else self.user.id


class NotSignedIn(Exception):
    """Raised by the page dependencies; the app answers with the sign-in page."""


async def _signing_key(state: AppState) -> bytes:
    return hmac.new(await state.secret(), b"sendwarden-ui-session-v1", hashlib.sha256).digest()


async def _serializer(state: AppState, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(await _signing_key(state), salt=salt)


async def csrf_token_for(state: AppState, nonce: str) -> str:
    return hmac.new(await _signing_key(state), f"csrf:{nonce}".encode(), "sha256").hexdigest()


async def check_csrf(state: AppState, nonce: str, token: str | None) -> bool:
    if not token:
        return False
    return hmac.compare_digest(await csrf_token_for(state, nonce), token)


def is_https(request: Request, state: AppState) -> bool:
    public = state.settings.sendwarden_public_url or ""
    return request.url.scheme == "https" or public.lower().startswith("https://")


def _set_cookie(
    response: Response, request: Request, state: AppState, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=is_https(request, state),
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(response: Response, request: Request, state: AppState, key_id: int) -> None:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with state.db.transaction() as session:
        await session.execute(delete(UiSession).where(UiSession.expires_at < now))
        session.add(
            UiSession(
                token_hash=_token_hash(token),
                key_id=key_id,
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_MAX_AGE),
            )
        )
    _set_cookie(response, request, state, SESSION_COOKIE, token, SESSION_MAX_AGE)
    response.delete_cookie(LOGIN_COOKIE, path="/ui")


async def end_session(response: Response, state: AppState, viewer: Viewer) -> None:
    async with state.db.transaction() as session:
        await session.execute(delete(UiSession).where(UiSession.token_hash == viewer.nonce))
    response.delete_cookie(SESSION_COOKIE, path="/ui")


async def viewer_from(request: Request, state: AppState) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    token_hash = _token_hash(token)
    async with state.db.read() as session:
        row = (
            await session.execute(
                select(User, ApiKey.id)
                .join(ApiKey, ApiKey.user_id == User.id)
                .join(UiSession, UiSession.key_id == ApiKey.id)
                .where(
                    UiSession.token_hash == token_hash,
                    UiSession.expires_at > utcnow(),
                    ApiKey.revoked_at.is_(None),
                )
            )
        ).one_or_none()
        if row is None:
            return None
        user, key_id = row
        session.expunge(user)
    # The token's hash doubles as the CSRF nonce: known to the server, never sent.
    return Viewer(user, int(key_id), token_hash)


async def login_nonce(request: Request, state: AppState) -> str | None:
    """The nonce of the pre-sign-in cookie that guards the sign-in form itself."""
    raw = request.cookies.get(LOGIN_COOKIE)
    if not raw:
        return None
    try:
        return str((await _serializer(state, "signin")).loads(raw, max_age=LOGIN_MAX_AGE))
    except BadSignature:
        return None


def new_login_nonce() -> str:
    return secrets.token_urlsafe(16)


async def set_login_cookie(
    response: Response, request: Request, state: AppState, nonce: str
) -> None:
    value = (await _serializer(state, "signin")).dumps(nonce)
    _set_cookie(response, request, state, LOGIN_COOKIE, value, LOGIN_MAX_AGE)


FLASH_MAX_AGE = 60


async def sign_flash(state: AppState, message: str, error: str) -> str:
    return (await _serializer(state, "flash")).dumps([message, error])


async def read_flash(state: AppState, token: str | None) -> tuple[str | None, str | None]:
    """(message, error) of a signed flash token; nothing for a forged or stale one."""
    if not token or len(token) > 2000:
        return None, None
    try:
        message, error = (await _serializer(state, "flash")).loads(token, max_age=FLASH_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return None, None
    return str(message) or None, str(error) or None
