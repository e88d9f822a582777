"""A Transport (services.send.model.Transport) in memory, for fast pipeline tests.

The real-SMTP tests (tests/support/smtp_server.py) stay the proof of delivery; this
one lets a test drive every stage of the pipeline in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sendwarden.transport.errors import DeliveryError
from sendwarden.transport.pool import DeliveryReceipt


@dataclass(frozen=True)
class Handed:
    raw: bytes
    sender: str
    recipients: list[str]


@dataclass
class FakeTransport:
    """Accepts every message (kept in `handed`), or raises `refuse_with` when it is set."""

    handed: list[Handed] = field(default_factory=list)
    refuse_with: DeliveryError | None = None

    async def send(self, raw: bytes, *, sender: str, recipients: list[str]) -> DeliveryReceipt:
        if self.refuse_with is not None:
            raise self.refuse_with
        self.handed.append(Handed(raw, sender, list(recipients)))
        return DeliveryReceipt(250, "2.0.0 Ok: queued")

    @property
    def size(self) -> int:
        return 1
