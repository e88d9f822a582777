"""Opaque, authenticated unsubscribe tokens (RFC 8058 links and the mailto target).

A token is urlsafe base64 (no padding) of `version || nonce || AES-GCM(claim)`:
the claim (user, attempt, recipient, issue time) is encrypted and authenticated
with a key derived from the instance secret, so a reader learns nothing from it
and any change makes it fail. Tokens issued before this format (`<payload>.<hmac>`,
claim in clear) are still accepted so that links in old messages keep working;
only the new format is issued. Pure code: the caller passes the secret and the time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEFAULT_MAX_AGE_SECONDS = 180 * 86400
# Tolerated clock difference between the issuing and the verifying process.
_MAX_CLOCK_SKEW_SECONDS = 300
_LEGACY_CONTEXT = b"sendwarden.unsubscribe.v1\x00"
_SIGNATURE_BYTES = hashlib.sha256().digest_size
_VERSION = b"\x02"
_NONCE_BYTES = 12
_TAG_BYTES = 16


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


def _aead_key(secret: bytes) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sendwarden.unsubscribe.v2"
    ).derive(secret)
    return AESGCM(key)


def _legacy_signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _LEGACY_CONTEXT + payload, hashlib.sha256).digest()


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
    secret: bytes,
    *,
    user_id: int,
    recipient: str,
    attempt_id: int,
    issued_at: int,
    nonce: bytes | None = None,
) -> str:
    """A new opaque token (the only format issued)."""
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    nonce = nonce if nonce is not None else os.urandom(_NONCE_BYTES)
    if len(nonce) != _NONCE_BYTES:
        raise ValueError("nonce must be 12 bytes")
    payload = _encode_payload(user_id, recipient, attempt_id, issued_at)
    sealed = _aead_key(secret).encrypt(nonce, payload, _VERSION)
    return _b64encode(_VERSION + nonce + sealed)


def make_legacy_unsubscribe_token(
    secret: bytes, *, user_id: int, recipient: str, attempt_id: int, issued_at: int
) -> str:
    """The old `<payload>.<hmac>` format, no longer issued; kept to test it still verifies."""
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    payload = _encode_payload(user_id, recipient, attempt_id, issued_at)
    return f"{_b64encode(payload)}.{_b64encode(_legacy_signature(secret, payload))}"


def _open_legacy(secret: bytes, token: str) -> bytes:
    payload_text, signature_text = token.split(".")
    payload = _b64decode_canonical(payload_text)
    signature = _b64decode_canonical(signature_text)
    if len(signature) != _SIGNATURE_BYTES or not hmac.compare_digest(
        signature, _legacy_signature(secret, payload)
    ):
        raise InvalidToken("token signature does not match")
    return payload


def _open(secret: bytes, token: str) -> bytes:
    raw = _b64decode_canonical(token)
    if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES or raw[:1] != _VERSION:
        raise InvalidToken("token is malformed")
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    try:
        return _aead_key(secret).decrypt(nonce, sealed, _VERSION)
    except InvalidTag as exc:
        raise InvalidToken("token does not authenticate") from exc


def verify_unsubscribe_token(
    secret: bytes, token: str, *, now: int, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
) -> UnsubscribeClaim:
    if not secret:
        raise ValueError("the unsubscribe secret must not be empty")
    if not token.isascii() or token.count(".") > 1 or not token.strip("."):
        raise InvalidToken("token is malformed")
    payload = _open_legacy(secret, token) if "." in token else _open(secret, token)
    claim = _decode_payload(payload)
    if claim.issued_at > now + _MAX_CLOCK_SKEW_SECONDS or now - claim.issued_at > max_age_seconds:
        raise InvalidToken("token has expired")
    return claim
