"""Signed one-click unsubscribe tokens (RFC 8058 links).

A token is `<payload>.<signature>`, both urlsafe base64 without padding. The
payload carries the claim in clear (it is not secret, only tamper-proof); the
signature is HMAC-SHA256 over a domain-separated encoding of the payload.
Pure code: the caller passes the secret and the current time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

DEFAULT_MAX_AGE_SECONDS = 180 * 86400
# Tolerated clock difference between the issuing and the verifying process.
_MAX_CLOCK_SKEW_SECONDS = 300
_CONTEXT = b"sendwarden.unsubscribe.v1\x00"
_SIGNATURE_BYTES = hashlib.sha256().digest_size


class InvalidToken(ValueError):
    """The token is malformed, forged, altered or expired."""


@dataclass(frozen=True)
class UnsubscribeClaim:
    user_id: int
    recipient: str
    attempt_id: int
    issued_at: int


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode_canonical(text: str) -> bytes:
    """Decode, accepting only the one encoding `_b64encode` produces.

    Without the round-trip check, characters differing only in the unused low
    bits of the last symbol would decode to the same bytes, so an altered token
    would still verify.
    """
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("token is not valid base64") from exc
    if _b64encode(raw) != text:
        raise InvalidToken("token is not canonical base64")
    return raw


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT + payload, hashlib.sha256).digest()


def _encode_payload(user_id: int, recipient: str, attempt_id: int, issued_at: int) -> bytes:
    # The recipient goes last so that any character it contains (even ":") is unambiguous.
    return f"{user_id}:{attempt_id}:{issued_at}:{recipient}".encode()


def _decode_payload(payload: bytes) -> UnsubscribeClaim:
    try:
        user_id, attempt_id, issued_at, recipient = payload.decode("utf-8").split(":", 3)
        return UnsubscribeClaim(
            user_id=int(user_id),
            recipient=recipient,
            attempt_id=int(attempt_id),
            issued_at=int(issued_at),
        )
    except ValueError as exc:
        raise InvalidToken("token payload is malformed") from exc


def make_unsubscribe_token(
    secret: bytes, *, user_id: int, recipient: str, attempt_id: int, issued_at: int
) -> str:
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    payload = _encode_payload(user_id, recipient, attempt_id, issued_at)
    return f"{_b64encode(payload)}.{_b64encode(_signature(secret, payload))}"


def verify_unsubscribe_token(
    secret: bytes, token: str, *, now: int, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
) -> UnsubscribeClaim:
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    if not token.isascii() or token.count(".") != 1:
        raise InvalidToken("token is malformed")
    payload_text, signature_text = token.split(".")
    payload = _b64decode_canonical(payload_text)
    signature = _b64decode_canonical(signature_text)
    if len(signature) != _SIGNATURE_BYTES or not hmac.compare_digest(
        signature, _signature(secret, payload)
    ):
        raise InvalidToken("token signature does not match")
    claim = _decode_payload(payload)
    if claim.issued_at > now + _MAX_CLOCK_SKEW_SECONDS or now - claim.issued_at > max_age_seconds:
        raise InvalidToken("token has expired")
    return claim
