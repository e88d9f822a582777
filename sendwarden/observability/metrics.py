"""Prometheus metrics. With several worker processes set PROMETHEUS_MULTIPROC_DIR
(`sendwarden serve --workers N` does) so /metrics aggregates all of them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENDS = Counter("sendwarden_sends_total", "Send requests by final result", ["result"])
BLOCKS = Counter("sendwarden_blocks_total", "Policy blocks by rule", ["rule"])
SMTP_LATENCY = Histogram(
    "sendwarden_smtp_seconds",
    "Time for one SMTP transaction (including connection set-up when needed)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SMTP_POOL_SIZE = Gauge(
    "sendwarden_smtp_pool_connections", "Open SMTP connections", multiprocess_mode="livesum"
)
INBOUND = Counter("sendwarden_inbound_total", "Inbound messages processed by kind", ["kind"])
SUPPRESSIONS = Counter(
    "sendwarden_auto_suppressions_total", "Automatic suppressions by source", ["source"]
)
SENDER_INCIDENTS = Counter(
    "sendwarden_sender_incidents_total", "Policy/reputation blocks reported against our sender"
)
LAST_POLL = Gauge(
    "sendwarden_last_poll_timestamp_seconds",
    "Unix time of the last successful mailbox poll",
    multiprocess_mode="max",
)
AUTH_FAILURES_LIMITED = Counter(
    "sendwarden_auth_failures_limited_total",
    "Requests refused with 429 after too many failed authentications from one client",
)
LEASE_RECOVERED = Counter(
    "sendwarden_lease_recovered_attempts_total",
    "In-flight attempts of dead processes marked unknown by the lease sweep",
)
INBOUND_REFUSED = Counter(
    "sendwarden_inbound_refused_total",
    "Effects an inbound message asked for and did not get (forged or unprovable), by reason",
    ["reason"],
)
GROUP_COMMIT_BATCHES = Counter(
    "sendwarden_group_commit_batches_total",
    "Transactions that served group-committed requests, by kind (items / batches = batch size)",
    ["kind"],
)
GROUP_COMMIT_ITEMS = Counter(
    "sendwarden_group_commit_items_total", "Requests served by group commit, by kind", ["kind"]
)
