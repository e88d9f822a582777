"""Send throughput on a database grown by N history rows vs an empty one, interleaved.

Run from the repository root:
    python bench/history_growth.py                    # SQLite, N = 100 k, 3 rounds of 300 sends
    python bench/history_growth.py --rows 1000000 --sends 1000
    python bench/history_growth.py --database-url postgresql://postgres@127.0.0.1/bench

Two databases: one empty, one grown by N rows in each of attempts, audit_entries,
suppressions, send_keys (expired) and request_keys (then ANALYZEd; a SQLite file's WAL
is checkpointed, as months of growth would have left it). On PostgreSQL the grown one
is `<name>_grown` beside the scratch database given, dropped and created afresh. Each
gets its own `sendwarden serve` (1 worker), both sending through one STARTTLS+AUTH sink
at concurrency C, and the phases alternate, empty then grown, for R rounds, each to
new leads: the machine's drift hits both alike. It prints every phase's rate and the
ratio grown/empty per round; the goal is >= 0.9 (a send's cost must not grow with
history). It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

if __package__ in (None, ""):  # run as a script: make the repository's test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import database_url_for  # noqa: E402
from sendwarden.api.app import API_PREFIX
from sendwarden.storage.db import Database  # noqa: E402
from sendwarden.storage.migrate import upgrade_async  # noqa: E402
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
        if database.dialect == "sqlite":
            # As a database that grew over months would be: its WAL long checkpointed.
            # Otherwise the first sends after the growth pay to checkpoint it.
            await asyncio.to_thread(checkpoint, make_url(url).database or "")
    finally:
        await database.dispose()
    return time.monotonic() - started


async def grown_database_url(url: str, work: Path) -> str:
    """A second, empty database beside `url`, migrated: a file, or `<name>_grown`."""
    if make_url(url).get_backend_name() == "sqlite":
        grown = f"sqlite+aiosqlite:///{work / 'grown.db'}"
    else:
        parsed = make_url(url)
        name = f"{parsed.database}_grown"
        admin = parsed.set(drivername="postgresql", database="postgres")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        grown = parsed.set(database=name).render_as_string(hide_password=False)
    await upgrade_async(grown)
    return grown


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="history rows per table")
    parser.add_argument("--sends", type=int, default=300, help="sends per phase")
    parser.add_argument("--rounds", type=int, default=3, help="empty/grown phase pairs")
    parser.add_argument("-c", type=int, default=16, help="concurrent requests")
    parser.add_argument("--database-url", help="PostgreSQL (a scratch database); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        work = Path(tmp)
        empty_url, description = await database_url_for(args.database_url, work)
        grown_url = await grown_database_url(empty_url, work)
        tag = int(time.time())
        count = args.rounds * args.sends + WARM_UP
        seeded = {
            kind: await seed_leads(
                url,
                [f"h{tag}{kind}{i}@g{tag}{kind}{i}.example" for i in range(count)],
                user=f"history-{tag}",
            )
            for kind, url in (("e", empty_url), ("g", grown_url))
        }
        emails = {
            kind: [f"h{tag}{kind}{i}@g{tag}{kind}{i}.example" for i in range(count)]
            for kind in seeded
        }
        took = await grow(grown_url, seeded["g"].user_id, args.rows)
        print(f"history growth on {description}: {args.sends} sends a phase, c={args.c}")
        print(f"  grown database: {args.rows} rows per history table in {took:.1f} s")
        smtp = SlowCaptureServer(work / "smtp", delay=0)
        smtp.start()
        try:
            servers = {
                kind: LiveServer(
                    live_env(
                        url,
                        smtp,
                        SENDWARDEN_USER_DAILY_CAP=10 * count,
                        DATABASE_POOL_SIZE=16,
                    ),
                    workers=1,
                    workdir=work / f"server-{kind}",
                )
                for kind, url in (("e", empty_url), ("g", grown_url))
            }
            with servers["e"] as empty_server, servers["g"] as grown_server:
                bases = {"e": empty_server.base_url, "g": grown_server.base_url}
                for kind in ("e", "g"):  # warm-up (connections, caches) on leads of no phase
                    await send_rate(bases[kind], seeded[kind], emails[kind][-WARM_UP:], args.c)
                ratios = []
                for round_ in range(args.rounds):
                    phase = slice(round_ * args.sends, (round_ + 1) * args.sends)
                    rates = {
                        kind: await send_rate(
                            bases[kind], seeded[kind], emails[kind][phase], args.c
                        )
                        for kind in ("e", "g")
                    }
                    ratios.append(rates["g"] / rates["e"])
                    print(
                        f"  round {round_ + 1}: empty {rates['e']:7.1f} sends/s, grown "
                        f"{rates['g']:7.1f} sends/s, ratio {ratios[-1]:.2f}"
                    )
                median = statistics.median(ratios)
                print(
                    f"  ratio grown/empty: median {median:.2f}, min {min(ratios):.2f}, "
                    f"max {max(ratios):.2f} (goal >= {GOAL}: median to goal {median / GOAL:.2f})"
                )
        finally:
            smtp.stop()


if __name__ == "__main__":
    asyncio.run(main())
