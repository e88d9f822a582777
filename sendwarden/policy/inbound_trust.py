"""Whom an inbound message may affect (product.md §6, "forged mail can't harm others").

Pure rules; the services apply them to the attempt an inbound message matched.
"""

from __future__ import annotations

from sendwarden.policy.addresses import InvalidAddress, address_key, registrable_domain

# A report naming more recipients than this is not believed beyond the first ones.
MAX_RECIPIENTS_PER_MESSAGE = 50


def same_mailbox(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return address_key(a) == address_key(b)
    except InvalidAddress:
        return False


def writer_speaks_for(writer: str | None, recipient: str) -> bool:
    """A removal request's writer may remove the recipient: same mailbox or registrable domain."""
    if not writer:
        return False
    if same_mailbox(writer, recipient):
        return True
    try:
        writer_domain = address_key(writer).rpartition("@")[2]
        recipient_domain = address_key(recipient).rpartition("@")[2]
        return registrable_domain(writer_domain) == registrable_domain(recipient_domain)
    except (InvalidAddress, ValueError):
        return False
