"""Idempotency key of a send (§3.3): same sender, recipient and subject -> same key."""

from __future__ import annotations

import hashlib
import json
import unicodedata

from sendwarden.policy.addresses import address_key


def normalize_subject(subject: str | None) -> str:
    """Subject as compared for duplicates: trimmed, whitespace runs collapsed, case-folded."""
    if subject is None:
        return ""
    collapsed = " ".join(unicodedata.normalize("NFC", subject).split())
    return unicodedata.normalize("NFC", collapsed.casefold())


def idempotency_key(effective_sender: str, recipient: str, subject: str | None) -> str:
    """Hex SHA-256 of the normalised (sender, recipient, subject) triple."""
    # A JSON list keeps the components apart: ("a", "bc") and ("ab", "c") differ.
    # ensure_ascii escapes everything, so even lone surrogates encode deterministically.
    payload = json.dumps(
        [address_key(effective_sender), address_key(recipient), normalize_subject(subject)],
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()
