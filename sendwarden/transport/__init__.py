"""SMTP side: MIME building, DKIM signing and a pooled TLS transport."""

from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import (
    DeliveryError,
    HeaderInjectionError,
    InvalidAddressError,
    MessageBuildError,
    TransportConfigError,
)
from sendwarden.transport.message import (
    UnsubscribeLinks,
    build_message,
    make_message_id,
    make_unsubscribe_links,
    message_bytes,
)
from sendwarden.transport.pool import DeliveryReceipt, SmtpPool

__all__ = [
    "DeliveryError",
    "DeliveryReceipt",
    "DkimSigner",
    "HeaderInjectionError",
    "InvalidAddressError",
    "MessageBuildError",
    "SmtpConfig",
    "SmtpPool",
    "TransportConfigError",
    "UnsubscribeLinks",
    "build_message",
    "make_message_id",
    "make_unsubscribe_links",
    "message_bytes",
]
