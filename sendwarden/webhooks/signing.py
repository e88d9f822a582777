"""Standard Webhooks signatures, made by the `standardwebhooks` package (not by hand)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from sendwarden.config import Settings
from sendwarden.storage import instance

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)


def new_secret() -> str:
    """A `whsec_` secret: base64 of 32 random bytes (the HMAC key after decoding)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Endpoint secrets at rest: Fernet-encrypted under a key derived from the instance
    secret (SENDWARDEN_SECRET_KEY, or the one kept in the database), so that neither a
    dump of the table nor SQL parameters in a debug log show them."""

    PREFIX = "enc:"

    def __init__(self, instance_secret: bytes) -> None:
        key = hmac.new(instance_secret, b"sendwarden webhook secrets v1", hashlib.sha256)
        self._fernet = Fernet(base64.urlsafe_b64encode(key.digest()))

    def seal(self, secret: str) -> str:
        return self.PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        return self._fernet.decrypt(stored.removeprefix(self.PREFIX).encode()).decode()


async def secret_box(session: AsyncSession, settings: Settings | None) -> SecretBox:
    """The box of this installation (the same key as services.wiring.load_secret)."""
    if settings is not None and settings.sendwarden_secret_key is not None:
        return SecretBox(settings.sendwarden_secret_key.get_secret_value().encode())
    return SecretBox(await instance.get_or_create_secret(session))


def headers(
    *, msg_id: str, body: str, secrets_: list[str], at: datetime | None = None
) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (one `v1,` entry per secret).

    During a rotation both the new and the previous secret sign, so receivers
    that still hold the previous one keep verifying.
    """
    at = at or datetime.now(UTC)
    signature = " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
