"""Per-installation values kept in the database so every worker and host shares them."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import InstanceSetting

SECRET_KEY_NAME = "secret_key"  # noqa: S105 (a row name, not a secret)


async def get_or_create_secret(session: AsyncSession) -> bytes:
    """The HMAC secret for unsubscribe tokens when SENDWARDEN_SECRET_KEY is not set."""
    value = await session.scalar(
        select(InstanceSetting.value).where(InstanceSetting.key == SECRET_KEY_NAME)
    )
    if value is None:
        candidate = secrets.token_hex(32)
        try:
            async with session.begin_nested():
                session.add(InstanceSetting(key=SECRET_KEY_NAME, value=candidate))
            value = candidate
        except IntegrityError:  # another worker created it first
            value = await session.scalar(
                select(InstanceSetting.value).where(InstanceSetting.key == SECRET_KEY_NAME)
            )
    assert value is not None
    return bytes.fromhex(value)
