"""Users and API keys. Keys are shown once and stored as SHA-256 hashes.

Keys carry 256 bits of randomness, so a fast hash is enough (no password
stretching needed); the lookup goes by a non-secret prefix and the hash is
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import ApiKey, User
from sendwarden.storage.types import utcnow

KEY_PREFIX = "sw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class DuplicateName(Exception):
    pass


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _split(plaintext: str) -> str | None:
    """Return the lookup prefix of a well-formed key, else None."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or len(secret) < 32 or not prefix.isalnum():
        return None
    return prefix


async def create_user(session: AsyncSession, name: str, *, is_admin: bool = False) -> User:
    if await session.scalar(select(User.id).where(User.name == name)) is not None:
        raise DuplicateName(f"a user named {name!r} already exists")
    user = User(name=name, is_admin=is_admin)
    session.add(user)
    await session.flush()
    return user


async def get_user_by_name(session: AsyncSession, name: str) -> User | None:
    return await session.scalar(select(User).where(User.name == name))


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.id))).all())


async def issue_key(session: AsyncSession, user: User, name: str) -> IssuedKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(user_id=user.id, name=name, prefix=prefix, key_hash=hash_key(plaintext))
    session.add(key)
    await session.flush()
    return IssuedKey(key, plaintext)


_KEYS = table_of(ApiKey)
_USERS = table_of(User)
# Built once: every authenticated request runs it (see storage.daily_caps).
_KEYS_AND_USERS = (
    select(
        _KEYS.c.prefix,
        _KEYS.c.id.label("key_id"),
        _KEYS.c.key_hash,
        _KEYS.c.revoked_at,
        _KEYS.c.last_used_at,
        _USERS.c.id,
        _USERS.c.name,
        _USERS.c.is_admin,
        _USERS.c.created_at,
    )
    .join_from(_KEYS, _USERS, _KEYS.c.user_id == _USERS.c.id)
    .where(_KEYS.c.prefix.in_(bindparam("prefixes", expanding=True)))
)
_TOUCH = (
    update(_KEYS).where(_KEYS.c.id == bindparam("key_id")).values(last_used_at=bindparam("now"))
)


@dataclass(frozen=True)
class Authenticated:
    user: User  # detached: read-only, for its id and flags
    key_id: int
    touch_due: bool  # last_used_at is older than LAST_USED_RESOLUTION


async def check_keys(
    session: AsyncSession, plaintexts: Sequence[str]
) -> list[Authenticated | None]:
    """Look several keys up with one query; one answer per key, in order."""
    prefixes = [_split(p) for p in plaintexts]
    wanted = sorted({p for p in prefixes if p is not None})
    rows = {}
    if wanted:
        found = await session.execute(_KEYS_AND_USERS, {"prefixes": wanted})
        rows = {row.prefix: row for row in found}
    now = utcnow()
    answers: list[Authenticated | None] = []
    for plaintext, prefix in zip(plaintexts, prefixes, strict=True):
        row = rows.get(prefix) if prefix is not None else None
        # Compare even when nothing was found so that timing does not reveal prefixes.
        stored = row.key_hash if row is not None else "0" * 64
        if not hmac.compare_digest(stored, hash_key(plaintext)) or row is None or row.revoked_at:
            answers.append(None)
            continue
        user = User(id=row.id, name=row.name, is_admin=row.is_admin, created_at=row.created_at)
        touch_due = row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION
        answers.append(Authenticated(user, row.key_id, touch_due))
    return answers


_ACTIVE_KEYS = select(_KEYS.c.id).where(
    _KEYS.c.id.in_(bindparam("ids", expanding=True)), _KEYS.c.revoked_at.is_(None)
)


async def active_key_ids(session: AsyncSession, key_ids: Sequence[int]) -> set[int]:
    """Which of these keys are still valid (not revoked), in the session's transaction."""
    if not key_ids:
        return set()
    return set((await session.scalars(_ACTIVE_KEYS, {"ids": sorted(set(key_ids))})).all())


async def touch_key(session: AsyncSession, key_id: int) -> None:
    """Record that the key was used. Coarse: a write on every request would serialise them."""
    await session.execute(_TOUCH, {"key_id": key_id, "now": utcnow()})


async def list_keys(session: AsyncSession, user_id: int | None = None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list((await session.scalars(query)).all())


async def revoke_key(session: AsyncSession, key_id: int, user_id: int | None = None) -> bool:
    query = update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    result = await session.execute(query.values(revoked_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]
