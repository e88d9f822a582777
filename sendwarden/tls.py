"""The one client TLS context builder, for every connection Sendwarden opens
(SMTP delivery, IMAP polling, and the doctor's checks of both)."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(*, verify: bool, ca_file: Path | None = None) -> ssl.SSLContext:
    """Verify the server against the system store (or `ca_file`), unless the operator
    explicitly turned verification off (SMTP_VERIFY_TLS / IMAP_VERIFY_TLS=false)."""
    if verify:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
