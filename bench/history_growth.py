"""Send throughput on a database grown by N history rows vs the same database empty.

Run from the repository root:
    python bench/history_growth.py                    # SQLite, N = 100 k, 300 sends a phase
    python bench/history_growth.py --rows 1000000 --sends 500
    python bench/history_growth.py --database-url postgresql://postgres@127.0.0.1/bench

One real `sendwarden serve` (1 worker) sends through a STARTTLS+AUTH sink at
concurrency C: first on the fresh database, then after N rows were added to
each of attempts, audit_entries, suppressions, send_keys (expired) and
request_keys (and ANALYZE), again to new leads. It prints both rates and
their ratio; the goal is >= 0.9 (a send's cost must not grow with history).
It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

if __package__ in (None, ""):  # run as a script: make the repository's test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database_url_for  # noqa: E402
from sendwarden.api.app import API_PREFIX
from sendwarden.storage.db import Database  # noqa: E402
from tests.support.history import history_statements  # noqa: E402
from tests.support.live_server import (  # noqa: E402
    LiveServer,
    Seeded,
    SlowCaptureServer,
    live_env,
    seed_leads,
    send_payload,
)

SEND = f"{API_PREFIX}/outreach/send"
GOAL = 0.9
WARM_UP = 50


async def send_rate(base_url: str, seeded: Seeded, emails: list[str], concurrency: int) -> float:
    queue = list(emails)
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            email = queue.pop()
            r = await client.post(SEND, json=send_payload(seeded, email), headers=seeded.headers)
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    took = time.monotonic() - started
    if failures:
        print(f"    {len(failures)} sends failed, e.g. {failures[0]}")
    return len(emails) / took


def checkpoint(path: str) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def grow(url: str, user_id: int, rows: int) -> float:
    database = Database(url)
    started = time.monotonic()
    try:
        async with database.transaction() as session:
            first_seq = (await session.execute(text("SELECT last_seq FROM audit_head"))).scalar()
        async with database.engine.connect() as connection:
            for statement in history_statements(
                database.dialect, user_id, int(first_seq or 0), rows
            ):
                await connection.exec_driver_sql(statement)
            await connection.commit()
            if database.dialect == "postgresql":
                await connection.exec_driver_sql("ANALYZE")  # as autovacuum would soon
        if database.dialect == "sqlite":
            # As a database that grew over months would be: its WAL long checkpointed.
            # Otherwise the first sends after the growth pay to checkpoint it.
            await asyncio.to_thread(checkpoint, make_url(url).database or "")
    finally:
        await database.dispose()
    return time.monotonic() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="history rows per table")
    parser.add_argument("--sends", type=int, default=300, help="sends per phase")
    parser.add_argument("-c", type=int, default=16, help="concurrent requests")
    parser.add_argument("--database-url", help="PostgreSQL (a scratch database); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        work = Path(tmp)
        url, description = await database_url_for(args.database_url, work)
        tag = int(time.time())
        emails = [f"h{tag}x{i}@g{tag}x{i}.example" for i in range(2 * args.sends + WARM_UP)]
        seeded = await seed_leads(url, emails, user=f"history-{tag}")
        smtp = SlowCaptureServer(work / "smtp", delay=0)
        smtp.start()
        try:
            env = live_env(
                url, smtp, SENDWARDEN_USER_DAILY_CAP=10 * args.sends, DATABASE_POOL_SIZE=16
            )
            with LiveServer(env, workers=1, workdir=work / "server") as server:
                # Warm-up (connections, caches) on leads of neither phase.
                await send_rate(server.base_url, seeded, emails[-WARM_UP:], args.c)
                empty = await send_rate(server.base_url, seeded, emails[: args.sends], args.c)
                print(f"history growth on {description}: {args.sends} sends a phase, c={args.c}")
                print(f"  empty database:          {empty:8.1f} sends/s")
                took = await grow(url, seeded.user_id, args.rows)
                print(f"  grown by {args.rows} rows per history table in {took:.1f} s")
                grown = await send_rate(
                    server.base_url, seeded, emails[args.sends : 2 * args.sends], args.c
                )
                print(f"  grown database:          {grown:8.1f} sends/s")
                ratio = grown / empty
                print(
                    f"  ratio grown/empty {ratio:.2f} (goal >= {GOAL}: ratio to goal "
                    f"{ratio / GOAL:.2f})"
                )
        finally:
            smtp.stop()


if __name__ == "__main__":
    asyncio.run(main())
