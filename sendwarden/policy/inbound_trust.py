"""Whom an inbound message may affect (product.md §6, "forged mail can't harm others").

Pure rules; the services apply them to the attempt an inbound message matched.
"""

from __future__ import annotations

from sendwarden.policy.addresses import InvalidAddress, address_key, registrable_domain

# A report naming more recipients than this is not believed beyond the first ones.
MAX_RECIPIENTS_PER_MESSAGE = 50

# Registrable domains where anyone can open a mailbox: sharing one says nothing about
# speaking for the other address. Hand-kept (no maintained package lists them); the big
# consumer providers cover almost all outreach recipients on shared domains.
SHARED_MAILBOX_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk",
        "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es", "live.com", "live.co.uk",
        "live.fr", "live.de", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "yahoo.it", "yahoo.es", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
        "gmx.de", "gmx.net", "gmx.com", "gmx.at", "gmx.ch", "web.de", "t-online.de",
        "freenet.de", "mail.ru", "yandex.ru", "yandex.com", "proton.me", "protonmail.com",
        "pm.me", "zoho.com", "fastmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr",
        "libero.it", "virgilio.it", "alice.it", "tiscali.it", "qq.com", "163.com", "126.com",
        "naver.com", "hey.com", "tutanota.com", "seznam.cz", "wp.pl", "o2.pl", "onet.pl",
        "interia.pl", "ziggo.nl", "kpnmail.nl", "telenet.be", "skynet.be", "bluewin.ch",
        "btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net", "mail.com",
    }
)  # fmt: skip


def same_mailbox(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return address_key(a) == address_key(b)
    except InvalidAddress:
        return False


def writer_speaks_for(writer: str | None, recipient: str) -> bool:
    """A removal request's writer may remove the recipient: same mailbox, or the same
    registrable domain when that domain is an organisation's own (not gmail.com & co)."""
    if not writer:
        return False
    if same_mailbox(writer, recipient):
        return True
    try:
        writer_domain = address_key(writer).rpartition("@")[2]
        recipient_domain = address_key(recipient).rpartition("@")[2]
        shared = registrable_domain(recipient_domain)
        return shared == registrable_domain(writer_domain) and shared not in SHARED_MAILBOX_DOMAINS
    except (InvalidAddress, ValueError):
        return False
