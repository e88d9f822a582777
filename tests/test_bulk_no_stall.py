"""A large suppression import and export against a real server stall nobody else.

`sendwarden serve` runs as a subprocess on SQLite and PostgreSQL; while a
200 k-row import (generated on the fly, streamed) and then a streamed export
run, /healthz and a real send (STARTTLS+AUTH SMTP sink) are probed every 50 ms.
The bound is generous (a shared CI machine), but an import or export that held
the database writer or the event loop for its whole run would blow it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api_helpers import API
from tests.support.live_server import (
    LiveServer,
    Seeded,
    SlowCaptureServer,
    live_env,
    seed_leads,
    send_payload,
)

ROWS = int(os.environ.get("SENDWARDEN_STALL_TEST_ROWS", "200000"))
PROBE_EVERY = 0.05
MAX_PROBE_SECONDS = 3.0  # generous: a loaded CI machine; before the fix they waited 60+ s
PROBE_LEADS = 2000
BASELINE_SECONDS = 3.0


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SlowCaptureServer]:
    server = SlowCaptureServer(tmp_path / "smtp", delay=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def import_row(i: int) -> bytes:
    if i % 50_000 == 7:
        return b"not an address@\n"
    if i % 10_000 == 3:
        return b"dup@bulk.example\n"  # the same address again and again
    return f"user{i}@bulk{i % 997}.example,r{i}\n".encode()


def expected_values() -> tuple[int, int, int, str]:
    """(added, duplicate, invalid, sha256 of the sorted values) of the generated CSV."""
    values: set[str] = set()
    duplicate = invalid = 0
    for i in range(ROWS):
        line = import_row(i).decode().strip()
        if line.startswith("not"):
            invalid += 1
            continue
        value = line.split(",")[0]
        if value in values:
            duplicate += 1
        values.add(value)
    return len(values), duplicate, invalid, digest_of(values)


def digest_of(values: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(values)).encode()).hexdigest()


async def generated_csv() -> AsyncIterator[bytes]:
    yield b"email,reason\n"
    batch: list[bytes] = []
    for i in range(ROWS):
        batch.append(import_row(i))
        if len(batch) == 2000:
            yield b"".join(batch)
            batch.clear()
            await asyncio.sleep(0)
    yield b"".join(batch)


class Prober:
    """Two closed loops (health, send), each one request at a time every PROBE_EVERY s.

    Closed loops measure how long one request waits, not a queue of our own
    making: an open loop faster than the machine can send would grow one.
    """

    def __init__(self, base_url: str, seeded: Seeded, leads: list[str]) -> None:
        self.base_url, self.seeded, self.leads = base_url, seeded, leads
        self.latencies: dict[str, list[float]] = {"healthz": [], "send": []}
        self.failures: list[str] = []
        self.timeline: list[tuple[float, str, float]] = []

    async def _loop(self, kind: str, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                index = len(self.latencies[kind])
                try:
                    if kind == "healthz":
                        r = await client.get("/healthz")
                    else:
                        lead = self.leads[index % len(self.leads)]
                        payload = send_payload(self.seeded, lead, subject=f"Probe {index}")
                        r = await client.post(
                            f"{API}/outreach/send", json=payload, headers=self.seeded.headers
                        )
                    if r.status_code != 200:
                        self.failures.append(f"{kind}: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    self.failures.append(f"{kind}: {exc!r}")
                took = time.monotonic() - started
                self.latencies[kind].append(took)
                self.timeline.append((started, kind, took))
                await asyncio.sleep(max(0.0, PROBE_EVERY - took))

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self._loop("healthz", stop), self._loop("send", stop))


async def test_large_import_and_export_leave_health_and_sends_responsive(
    db_url: str, smtp: SlowCaptureServer, tmp_path: Path
) -> None:
    leads = [f"probe{i}@probe{i}.example" for i in range(PROBE_LEADS)]
    seeded = await seed_leads(db_url, leads)
    env = live_env(
        db_url,
        smtp,
        SENDWARDEN_USER_DAILY_CAP=100_000,
        DATABASE_POOL_SIZE=8,
    )
    added, duplicate, invalid, digest = expected_values()
    timeout = httpx.Timeout(600.0)
    with LiveServer(env, workers=1, workdir=tmp_path / "server") as server:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=timeout) as bulk,
        ):
            prober = Prober(server.base_url, seeded, leads)
            stop = asyncio.Event()
            probing = asyncio.create_task(prober.run(stop))
            await asyncio.sleep(BASELINE_SECONDS)  # the probes alone, for comparison
            baseline = {kind: sorted(values) for kind, values in prober.latencies.items()}
            try:
                r = await bulk.post(
                    f"{API}/suppression/import", content=generated_csv(), headers=seeded.headers
                )
                assert r.status_code == 200, r.text
                report = r.json()
                imported_at = time.monotonic()
                exported: set[str] = set()
                rows = 0
                async with bulk.stream(
                    "GET", f"{API}/suppression/export", headers=seeded.headers
                ) as response:
                    assert response.status_code == 200
                    async for line in response.aiter_lines():
                        if line and not line.startswith("kind,"):
                            exported.add(line.split(",")[1])
                            rows += 1
            finally:
                stop.set()
                await probing
        log = server.log_tail()

    assert (report["added"], report["duplicate"], len(report["invalid"])) == (
        added,
        duplicate,
        invalid,
    )
    assert rows == added and digest_of(exported) == digest
    assert not prober.failures, prober.failures[:5]
    assert len(prober.latencies["send"]) >= 10, "too few send probes ran"
    worst = {kind: max(values) for kind, values in prober.latencies.items()}
    if os.environ.get("SENDWARDEN_STALL_DEBUG"):
        print("import done at", imported_at, "baseline", baseline)
        for entry in sorted(prober.timeline):
            if entry[2] > 0.3:
                print(entry)
    assert all(w < MAX_PROBE_SECONDS for w in worst.values()), (worst, log)
