"""Standard Webhooks signatures, made by the `standardwebhooks` package (not by hand)."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)


def new_secret() -> str:
    """A `whsec_` secret: base64 of 32 random bytes (the HMAC key after decoding)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


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
