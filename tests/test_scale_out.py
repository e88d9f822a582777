"""Caps and idempotency hold across 4 real worker processes sharing PostgreSQL.

The server is `sendwarden serve --workers 4` in a subprocess; mail goes over
real STARTTLS+AUTH (verified against the capture server's CA) to a capture
server in this process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sendwarden.api.app import API_PREFIX
from sendwarden.storage.audit_chain import verify_chain
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt
from tests.support.live_server import (
    LiveServer,
    Seeded,
    SlowCaptureServer,
    counter_totals,
    live_database,
    live_env,
    seed_leads,
    send_payload,
)

pytestmark = pytest.mark.postgres

SEND = f"{API_PREFIX}/outreach/send"
WORKERS = 4
DOMAIN_CAP = 20
LEADS = 200
PER_WORKER = 6  # connections pinned to each worker
# Pinning connections to workers can take several seconds of probes: the first
# ones must not be dropped as idle (uvicorn's default is 5 s) before they are used.
KEEP_ALIVE = 120


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SlowCaptureServer]:
    # A little delay per message keeps sends overlapping across the workers.
    server = SlowCaptureServer(tmp_path / "smtp", delay=0.02)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def same_domain_leads() -> list[str]:
    """200 addresses whose registrable domain is example.co.uk, with and without subdomain."""
    return [f"p{i}@mail.example.co.uk" if i % 2 else f"q{i}@example.co.uk" for i in range(LEADS)]


async def post_spread(
    clients: list[httpx.AsyncClient], seeded: Seeded, payloads: list[dict[str, Any]]
) -> list[httpx.Response]:
    """All payloads at once, each client taking its share in turn (one request at a time)."""
    responses: list[httpx.Response | None] = [None] * len(payloads)

    async def drive(offset: int, client: httpx.AsyncClient) -> None:
        for index in range(offset, len(payloads), len(clients)):
            responses[index] = await client.post(SEND, json=payloads[index], headers=seeded.headers)

    await asyncio.gather(*(drive(i, c) for i, c in enumerate(clients)))
    return [r for r in responses if r is not None]


def busy_workers(server: LiveServer) -> int:
    """Workers holding at least one of the client's (kept-alive) connections."""
    return sum(1 for ports in server.client_ports().values() if ports)


async def clients_on_every_worker(
    server: LiveServer, stack: AsyncExitStack, per_worker: int, max_tries: int = 400
) -> list[httpx.AsyncClient]:
    """Single-connection clients, `per_worker` of them held by each worker, interleaved.

    Which worker accepts a connection is up to the kernel, so connections are
    opened one by one and kept only where their worker still needs one.
    """
    held: dict[int, list[httpx.AsyncClient]] = {pid: [] for pid in server.worker_pids()}
    for _ in range(max_tries):
        if all(len(clients) >= per_worker for clients in held.values()):
            break
        client = httpx.AsyncClient(
            base_url=server.base_url, limits=httpx.Limits(max_connections=1), timeout=30
        )
        response = await client.get("/healthz")
        port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        worker = next(pid for pid, ports in server.client_ports().items() if port in ports)
        if len(held[worker]) < per_worker:
            stack.push_async_callback(client.aclose)
            held[worker].append(client)
        else:
            await client.aclose()
    assert all(len(c) >= per_worker for c in held.values()), {p: len(c) for p, c in held.items()}
    return [client for group in zip(*held.values(), strict=True) for client in group]


async def attempt_statuses(database: Database) -> Counter[str]:
    async with database.transaction() as session:
        rows = await session.execute(select(Attempt.status, func.count()).group_by(Attempt.status))
        return Counter({status: int(n) for status, n in rows.all()})


async def test_domain_cap_holds_across_four_workers(
    pg_url: str, smtp: SlowCaptureServer, tmp_path: Path
) -> None:
    emails = same_domain_leads()
    seeded = await seed_leads(pg_url, emails)
    env = live_env(
        pg_url,
        smtp,
        SENDWARDEN_DOMAIN_DAILY_CAP=DOMAIN_CAP,
        SENDWARDEN_USER_DAILY_CAP=1000,
        DATABASE_POOL_SIZE=8,
        SENDWARDEN_KEEP_ALIVE=KEEP_ALIVE,
    )
    with LiveServer(env, workers=WORKERS, workdir=tmp_path / "server") as server:
        assert len(server.worker_pids()) == WORKERS
        async with AsyncExitStack() as stack:
            # Connections pinned to every worker: left to the kernel, a fast server
            # can take all of one client's connections on a single worker.
            clients = await clients_on_every_worker(server, stack, PER_WORKER)
            payloads = [send_payload(seeded, e) for e in emails]
            responses = await post_spread(clients, seeded, payloads)
            workers_used = busy_workers(server)
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: DOMAIN_CAP, 403: LEADS - DOMAIN_CAP}, server.log_tail()
        for blocked in (r.json() for r in responses if r.status_code == 403):
            assert blocked["reason"].startswith(
                "Daily limit for recipient domain example.co.uk reached: 20/20"
            ), blocked
        delivered = smtp.wait_for(DOMAIN_CAP, timeout=5)

    assert workers_used >= 2, "the load did not reach several workers"
    assert len(delivered) == DOMAIN_CAP
    sent_to = {r.json()["recipient_email"] for r in responses if r.status_code == 200}
    assert {m.rcpt_tos[0] for m in delivered} == sent_to
    database = live_database(pg_url)
    try:
        statuses_in_db = await attempt_statuses(database)
        async with database.transaction() as session:
            counters = await counter_totals(session, seeded.user_id)
            chain = await verify_chain(session)
    finally:
        await database.dispose()
    assert counters == {("user", ""): DOMAIN_CAP, ("domain", "example.co.uk"): DOMAIN_CAP}
    assert statuses_in_db == {"sent": DOMAIN_CAP, "blocked": LEADS - DOMAIN_CAP}
    assert chain.ok, chain
    assert chain.entries_checked == LEADS  # one audit entry per request, none lost


async def test_identical_concurrent_sends_across_workers_deliver_once(
    pg_url: str, tmp_path: Path
) -> None:
    email = "editor@identical.example"
    seeded = await seed_leads(pg_url, [email])
    # A slow server keeps the first send in flight while the others arrive.
    with SlowCaptureServer(tmp_path / "smtp", delay=0.3) as smtp:
        env = live_env(pg_url, smtp, DATABASE_POOL_SIZE=8, SENDWARDEN_KEEP_ALIVE=KEEP_ALIVE)
        with LiveServer(env, workers=WORKERS, workdir=tmp_path / "server") as server:
            async with AsyncExitStack() as stack:
                clients = await clients_on_every_worker(server, stack, per_worker=5)
                payload = send_payload(seeded, email)
                responses = await asyncio.gather(
                    *(c.post(SEND, json=payload, headers=seeded.headers) for c in clients)
                )
        delivered = smtp.messages

    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, statuses
    assert set(statuses) <= {200, 403, 409}, [r.text for r in responses]
    assert len(delivered) == 1 and delivered[0].rcpt_tos == (email,)
