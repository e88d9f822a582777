"""Webhook throughput: events/s delivered to a local receiver, and the added cost per send.

Run from the repository root:
    python bench/webhook_throughput.py            # SQLite, 2000 events, 400 sends per round
    python bench/webhook_throughput.py --quick
    python bench/webhook_throughput.py --database-url postgresql://postgres@127.0.0.1/bench

The SMTP sink and the webhook receiver each run in their own process. It measures:
  (1) delivery: M events written to the outbox, then `sendwarden serve` (its
      dispatcher) delivering them to the receiver; compared with raw httpx
      POSTs to the same receiver from this process at the same concurrency;
  (2) cost per send: POST /outreach/send throughput of one server for a user
      with no endpoint and for a user with one endpoint (events emitted and
      delivered by the same server while it sends), alternated twice, as a
      ratio;
  (3) the same with the server's dispatcher off: the outbox writes alone.
      Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import httpx

if __package__ in (None, ""):  # run as a script: make the repository's helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from send_throughput import SmtpTarget, _run_sink, prepare_database  # noqa: E402

from sendwarden.api.app import API_PREFIX
from sendwarden.storage.db import Database  # noqa: E402
from sendwarden.webhooks import endpoints, outbox, signing  # noqa: E402
from tests.support.live_server import SECRET_KEY, LiveServer, live_env, seed_leads, send_payload  # noqa: E402

SEND = f"{API_PREFIX}/outreach/send"
SERVER_SETTINGS: dict[str, str | int] = {
    "SENDWARDEN_WEBHOOKS_ALLOW_PRIVATE": "true",
    "SENDWARDEN_USER_DAILY_CAP": 1_000_000,
    "SENDWARDEN_DOMAIN_DAILY_CAP": 1_000_000,
    "SENDWARDEN_LOG_LEVEL": "WARNING",
}


def _run_receiver(counter: Synchronized[int], conn: Connection) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with counter.get_lock():
                counter.value += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 resets connections under load
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    conn.send(server.server_address[1])
    server.serve_forever()


async def add_endpoint(url: str, user_id: int, target: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await endpoints.create(
                session,
                user_id=user_id,
                url=target,
                events=None,
                allow_private=True,
                box=signing.SecretBox(SECRET_KEY.encode()),
            )
    finally:
        await db.dispose()


async def wait_count(counter: Synchronized[int], count: int, within: float = 600) -> float:
    started = time.perf_counter()
    while counter.value < count:
        if time.perf_counter() - started > within:
            raise SystemExit(f"only {counter.value} of {count} arrived")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def raw_posts(target: str, count: int, concurrency: int) -> float:
    """Requests/s of plain httpx POSTs to the receiver: the ceiling for one client process."""
    body = b'{"type":"bench","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'
    queue = iter(range(count))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            for _ in queue:
                await client.post(target, content=body)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def delivery_rate(
    url: str, smtp: SmtpTarget, workdir: Path, target: str, counter: Synchronized[int], m: int
) -> float:
    seeded = await seed_leads(url, ["events@bench.example"], user=f"ev-{uuid.uuid4().hex[:8]}")
    await add_endpoint(url, seeded.user_id, target)
    db = Database(url)
    try:
        for start in range(0, m, 500):
            async with db.transaction() as session:
                await outbox.emit_many(
                    session,
                    [
                        outbox.NewEvent(seeded.user_id, "bench", {"n": n}, lead_id=None)
                        for n in range(start, min(m, start + 500))
                    ],
                )
    finally:
        await db.dispose()
    before = counter.value
    server = LiveServer(live_env(url, smtp, **SERVER_SETTINGS), workdir=workdir / "deliver")
    server.start()
    try:
        seconds = await wait_count(counter, before + m)
    finally:
        server.stop()
    return m / seconds


async def send_rate(server: LiveServer, url: str, n: int, c: int, endpoint: str | None) -> float:
    emails = [f"lead{i}@s{i}-{uuid.uuid4().hex[:6]}.example" for i in range(n)]
    seeded = await seed_leads(url, emails, user=f"send-{uuid.uuid4().hex[:8]}")
    if endpoint is not None:
        await add_endpoint(url, seeded.user_id, endpoint)
        await asyncio.sleep(1.2)  # the server's endpoint cache refreshes within a second
    queue = iter(emails)
    limits = httpx.Limits(max_connections=c)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            for email in queue:
                r = await client.post(
                    SEND, json=send_payload(seeded, email), headers=seeded.headers
                )
                if r.status_code != 200:
                    raise SystemExit(f"send failed: {r.status_code} {r.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        return n / (time.perf_counter() - started)


async def send_rates(
    url: str,
    smtp: SmtpTarget,
    workdir: Path,
    target: str,
    hook_count: Synchronized[int],
    args: argparse.Namespace,
    *,
    dispatch: bool,
) -> dict[str, list[float]]:
    """Send rates for a user without and with an endpoint, alternated twice, on one server."""
    settings = {**SERVER_SETTINGS, "SENDWARDEN_WEBHOOKS_DISPATCH": str(dispatch).lower()}
    server = LiveServer(live_env(url, smtp, **settings), workdir=workdir / f"send-{dispatch}")
    server.start()
    try:
        await send_rate(server, url, 20, 4, None)  # warm-up
        rates: dict[str, list[float]] = {"0": [], "1": []}
        for _ in range(2):
            rates["0"].append(await send_rate(server, url, args.n, args.c, None))
            before = hook_count.value
            rates["1"].append(await send_rate(server, url, args.n, args.c, target))
            if dispatch:  # let the deliveries finish before the next round
                await wait_count(hook_count, before + 2 * args.n)  # sent + lead.status_changed
        return rates
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", type=int, default=2000, help="events to deliver in (1) (2000)")
    parser.add_argument("-n", type=int, default=400, help="sends per round in (2) (400)")
    parser.add_argument("-c", type=int, default=16, help="concurrent requests (16)")
    parser.add_argument("--database-url", help="PostgreSQL instead of a fresh SQLite file")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.m, args.n = 300, 100
    workdir = Path(tempfile.mkdtemp(prefix="sw-webhook-bench-"))
    url, description = await prepare_database(args.database_url, workdir)
    ctx = multiprocessing.get_context("spawn")
    smtp_count, hook_count = ctx.Value("i", 0), ctx.Value("i", 0)
    smtp_parent, smtp_child = ctx.Pipe()
    hook_parent, hook_child = ctx.Pipe()
    sink = ctx.Process(target=_run_sink, args=(str(workdir / "sink"), smtp_count, smtp_child))
    receiver = ctx.Process(target=_run_receiver, args=(hook_count, hook_child), daemon=True)
    sink.start()
    receiver.start()
    port, user, password, ca = smtp_parent.recv()
    smtp = SmtpTarget("localhost", port, user, password, Path(ca))
    target = f"http://127.0.0.1:{hook_parent.recv()}/hooks"
    print(f"Webhook throughput on {description}", flush=True)
    try:
        ceiling = await raw_posts(target, args.m, args.c)
        delivered = await delivery_rate(url, smtp, workdir, target, hook_count, args.m)
        print(f"  (1) {args.m} events delivered by serve: {delivered:.0f} events/s", flush=True)
        share = f"{delivered / ceiling:.0%}"
        print(f"      raw httpx POSTs, c={args.c}: {ceiling:.0f}/s -> {share} of raw")
        rates = await send_rates(url, smtp, workdir, target, hook_count, args, dispatch=True)
        zero, one = max(rates["0"]), max(rates["1"])
        print(f"  (2) sends/s, user with 0 endpoints: {', '.join(f'{r:.0f}' for r in rates['0'])}")
        print(f"      sends/s, user with 1 endpoint:  {', '.join(f'{r:.0f}' for r in rates['1'])}")
        print(
            f"      best with 1 endpoint / best with 0: {one / zero:.2f}"
            f" (added cost per send ~ {1000 / one - 1000 / zero:.2f} ms of wall time,"
            " delivering 2 events per send in the same process)"
        )
        quiet = await send_rates(url, smtp, workdir, target, hook_count, args, dispatch=False)
        zero, one = max(quiet["0"]), max(quiet["1"])
        print(
            f"  (3) dispatcher off (outbox writes only): 0 endpoints {zero:.0f}/s,"
            f" 1 endpoint {one:.0f}/s -> {one / zero:.2f}"
        )
    finally:
        smtp_parent.send("stop")
        sink.join(10)
        receiver.terminate()


if __name__ == "__main__":
    asyncio.run(main())
