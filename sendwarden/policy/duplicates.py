"""The 24 h duplicate rule (§3.3): same sender, recipient and subject -> same duplicate key.

Not to be confused with the HTTP `Idempotency-Key` replay (services.http_idempotency).

The key does not name the user: two users sending the same subject to the same
mailbox from the same sender address are the same send to the recipient.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from typing import Literal

from sendwarden.policy.addresses import mailbox_key

# What the duplicate-key store knows of an identical send: used within 24 h, or in flight.
Duplicate = Literal["sent", "in_flight"] | None


def _without_format_chars(text: str) -> str:
    # Category Cf: zero-width space/joiners, BOM, bidi marks... invisible to a reader.
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def normalize_subject(subject: str | None) -> str:
    """Subject as compared for duplicates: what a reader would call the same subject.

    NFKC (full-width and other compatibility forms become plain letters), invisible
    format characters removed, case-folded, whitespace runs collapsed and trimmed.
    """
    if subject is None:
        return ""
    text = _without_format_chars(unicodedata.normalize("NFKC", subject))
    # Case folding can leave a string that NFKC changes again ("ǅ" and friends).
    text = _without_format_chars(unicodedata.normalize("NFKC", text.casefold()))
    return " ".join(text.split())


@lru_cache(maxsize=4096)  # a check computes it twice: to look it up, then in the decision
def duplicate_key(effective_sender: str, recipient: str, subject: str | None) -> str:
    """Hex SHA-256 of the normalised (sender, recipient, subject) triple."""
    # A JSON list keeps the components apart: ("a", "bc") and ("ab", "c") differ.
    # ensure_ascii escapes everything, so even lone surrogates encode deterministically.
    payload = json.dumps(
        [mailbox_key(effective_sender), mailbox_key(recipient), normalize_subject(subject)],
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()
