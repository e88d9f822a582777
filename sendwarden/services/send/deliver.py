"""Deliver stage: hand the composed message to the transport, with no transaction open."""

from __future__ import annotations

import time

from sendwarden.observability import metrics
from sendwarden.services.send.model import Transport
from sendwarden.transport.errors import DeliveryError


async def deliver(
    transport: Transport, raw: bytes, *, sender: str, recipient: str
) -> DeliveryError | None:
    """Send one message; the transport's refusal is returned (it is an outcome), not raised."""
    started = time.perf_counter()
    error = None
    try:
        await transport.send(raw, sender=sender, recipients=[recipient])
    except DeliveryError as refused:
        error = refused
    metrics.SMTP_LATENCY.observe(time.perf_counter() - started)
    metrics.SMTP_POOL_SIZE.set(transport.size)
    return error
