"""DKIM signing with dkimpy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dkim

from sendwarden.policy.addresses import InvalidAddress, a_label
from sendwarden.transport.errors import TransportConfigError

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes = field(repr=False)

    @classmethod
    def from_file(cls, path: Path, selector: str, domain: str) -> DkimSigner:
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise TransportConfigError(f"cannot read DKIM private key {path}") from exc
        if b"PRIVATE KEY" not in key:
            raise TransportConfigError(f"{path} is not a PEM private key")
        return cls(selector=selector, domain=domain, private_key=key)

    def sign(self, raw: bytes) -> bytes:
        try:
            signature: bytes = dkim.sign(
                raw,
                self.selector.encode("ascii"),
                a_label(self.domain).encode("ascii"),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(SIGNED_HEADERS),
            )
        except (dkim.DKIMException, InvalidAddress) as exc:
            # dkimpy's messages describe the key/message, never contain the key itself.
            raise TransportConfigError(f"DKIM signing failed: {exc}") from exc
        return signature + raw
