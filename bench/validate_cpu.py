"""CPU per POST /policy/validate in process, against the bare FastAPI endpoint the same way.

Run from the repository root:
    python bench/validate_cpu.py                  # SQLite, c=32, 3 rounds of 5000 requests
    python bench/validate_cpu.py --database-url postgresql://postgres@127.0.0.1/bench
    python bench/validate_cpu.py --distinct-recipients   # a new address per request

Both ASGI apps are called directly on one uvloop (no sockets, no uvicorn, no wrk), so
what is measured is the application's own CPU per request: all of this process's
threads (SQLite's writer thread included; PostgreSQL's server is not). The machine's
noise moves this much less than the req/s of `validate_throughput.py`, which makes it
the figure to A/B a change with (run it from a worktree of each commit). Rounds are
interleaved; it prints each app's ms of CPU per request and the ratio. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

if __package__ in (None, ""):  # run as a script: make the repository's test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_app import app as bare_app  # noqa: E402
from bench.common import (  # noqa: E402
    DISTINCT_DOMAINS,
    add_distinct_recipients_option,
    bodies_described,
    database_url_for,
)
from tests.support.live_server import SENDER, live_env, seed_leads  # noqa: E402

ASGIApp = Any


class _NoSmtp:  # validate never connects: only the settings need an SMTP endpoint
    port, username, password, ca_file = 2525, "bench", "bench", Path("/dev/null")


def distinct_bodies(body: bytes) -> Iterator[bytes]:
    """`body` with a new recipient each time (validate_throughput.py's
    --distinct-recipients: what a validate pays for an address never seen)."""
    template = json.loads(body)
    for n in itertools.count():
        template["recipient_email"] = f"p{n}@site{n % DISTINCT_DOMAINS}.example"
        yield json.dumps(template).encode()


async def drive(
    app: ASGIApp,
    path: str,
    bodies: Iterator[bytes],
    headers: list[Any],
    n: int,
    c: int,
) -> float:
    """ms of process CPU per request for `n` requests, `c` at a time; every answer is a 200."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    statuses: Counter[int] = Counter()

    async def one() -> None:
        delivered = False
        body = next(bodies)
        request_headers = [*headers, (b"content-length", str(len(body)).encode())]

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client stays: no disconnect
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] += 1

        await app({**scope, "headers": request_headers}, receive, send)

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    cpu = time.process_time()
    await asyncio.gather(*(worker(n // c) for _ in range(c)))
    cpu = time.process_time() - cpu
    if set(statuses) != {200}:
        raise SystemExit(f"{path}: unexpected statuses {dict(statuses)}")
    return cpu * 1000 / ((n // c) * c)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="requests per round (5000)")
    parser.add_argument("-c", type=int, default=32, help="concurrent requests (32)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--database-url", help="PostgreSQL (a scratch database); default SQLite")
    add_distinct_recipients_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="validate-cpu-") as tmp:
        url, description = await database_url_for(args.database_url, Path(tmp))
        seeded = await seed_leads(url, [], user=f"validate-cpu-{time.time_ns()}")
        os.environ.update(live_env(url, _NoSmtp(), SENDWARDEN_LOG_LEVEL="WARNING"))
        from sendwarden.api.app import API_PREFIX, create_app

        app = create_app()
        body = json.dumps(
            {"recipient_email": "someone@prospect.example", "sender_email": SENDER}
        ).encode()
        bodies = distinct_bodies(body) if args.distinct_recipients else itertools.repeat(body)
        headers = [
            (b"content-type", b"application/json"),
            *((k.lower().encode(), v.encode()) for k, v in seeded.headers.items()),
        ]
        validate = (app, f"{API_PREFIX}/policy/validate")
        bare = (bare_app, "/bare")
        async with app.router.lifespan_context(app):
            for target, path in (validate, bare):  # warm up: caches, key, compiled statements
                await drive(target, path, bodies, headers, 320, args.c)
            print(
                f"CPU per request in process, {description}, c={args.c}, n={args.n},"
                f" {bodies_described(args)}"
            )
            for round_ in range(1, args.rounds + 1):
                bare_ms = await drive(*bare, bodies, headers, args.n, args.c)
                validate_ms = await drive(*validate, bodies, headers, args.n, args.c)
                print(
                    f"  round {round_}: bare {bare_ms:.3f} ms, validate {validate_ms:.3f} ms"
                    f" ({validate_ms / bare_ms:.1f}x bare)",
                    flush=True,
                )


if __name__ == "__main__":
    uvloop.run(main())
