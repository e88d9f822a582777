"""Webhook metrics (registered in the default registry beside observability.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERIES = Counter(
    "sendwarden_webhook_deliveries_total",
    "Webhook delivery attempts by result (delivered, retry, dead)",
    ["result"],
)
OUTBOX_DEPTH = Gauge(
    "sendwarden_webhook_outbox_depth",
    "Webhook events not yet fanned out plus deliveries pending",
    multiprocess_mode="max",
)
OLDEST_UNDELIVERED = Gauge(
    "sendwarden_webhook_oldest_undelivered_seconds",
    "Age of the oldest event with an undelivered (pending) delivery",
    multiprocess_mode="max",
)
