"""POST /policy/validate req/s against a bare FastAPI endpoint, same uvicorn settings, same run.

Run from the repository root (needs `wrk`):
    python bench/validate_throughput.py                       # SQLite, c=32, 10 s a round
    python bench/validate_throughput.py --duration 5 --rounds 1
    python bench/validate_throughput.py --database-url postgresql://postgres@127.0.0.1/bench
    python bench/validate_throughput.py --distinct-recipients  # a new address per request

`sendwarden serve` (1 worker) and `uvicorn bench.bare_app:app` (1 worker, the
same log level and keep-alive) run side by side; wrk drives each in turn,
interleaved for R rounds, with the same JSON bodies (one body for every request,
or with --distinct-recipients a new recipient each time). It prints req/s and
p99 of both and the ratio (goal: validate >= 50 % of bare, p99 < 20 ms).
It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):  # run as a script: make the repository's test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    DISTINCT_DOMAINS,
    add_distinct_recipients_option,
    bodies_described,
    database_url_for,
)
from sendwarden.api.app import API_PREFIX
from tests.support.live_server import (  # noqa: E402
    SENDER,
    LiveServer,
    SlowCaptureServer,
    free_port,
    live_env,
    process_cpu_seconds,
    seed_leads,
    server_env,
)

VALIDATE = f"{API_PREFIX}/policy/validate"
GOAL_RATIO = 0.5
GOAL_P99_MS = 20.0
KEEP_ALIVE = 5


def wrk(
    url: str, body: dict[str, str], headers: dict[str, str], args: argparse.Namespace, pid: int
) -> tuple[float, float, float]:
    """(requests/s, p99 ms, server CPU ms per request: every thread of `pid`) of one wrk run."""
    cpu_before = process_cpu_seconds(pid)
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    for name, value in {**headers, "Content-Type": "application/json"}.items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if args.distinct_recipients:
        lines.append(distinct_recipients_lua(body["sender_email"]))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    out = subprocess.run(  # noqa: S603 - wrk from PATH with our own arguments
        [
            str(shutil.which("wrk")),
            "-t2",
            f"-c{args.c}",
            f"-d{args.duration}s",
            "--latency",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = process_cpu_seconds(pid) - cpu_before
    Path(script.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"    (wrk saw {errors.group(1)} non-2xx responses)")
    return rate, p99, cpu * 1000 / max(total, 1)


def distinct_recipients_lua(sender: str) -> str:
    """wrk script part: every request to a new address, over DISTINCT_DOMAINS domains.

    Cold outreach rarely writes to one address twice, so what a real validate pays
    for an address never seen (email-validator, the registrable domain, the
    duplicate key: memoised per address) shows only with distinct recipients.
    """
    template = json.dumps({"recipient_email": "p%d.%d@site%d.example", "sender_email": sender})
    return f"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local sent = 0
request = function()
  sent = sent + 1
  local body = string.format({json.dumps(template)}, id, sent, sent % {DISTINCT_DOMAINS})
  return wrk.format(nil, nil, nil, body)
end
"""


def validate_batches(base_url: str) -> tuple[float, float]:
    """(batches, items) of the server's validate group commit so far, from /metrics."""
    text = httpx.get(base_url + "/metrics").text
    found = []
    for name in ("batches", "items"):
        match = re.search(
            rf'^sendwarden_group_commit_{name}_total{{kind="validate"}} (\S+)$', text, re.M
        )
        found.append(float(match.group(1)) if match else 0.0)
    return found[0], found[1]


def server_pid(server: LiveServer) -> int:
    """The worker that serves (with 1 worker, `serve` is that process)."""
    workers = server.worker_pids()
    return workers[0] if workers else server.pid or 0


def start_bare(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "bare.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--timeout-keep-alive",
            str(KEEP_ALIVE),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=server_env({}),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/bare", json={}, timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the bare app did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (2)")
    parser.add_argument("--database-url", help="PostgreSQL (a scratch database); default SQLite")
    add_distinct_recipients_option(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed")
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
        work = Path(tmp)
        url, description = await database_url_for(args.database_url, work)
        seeded = await seed_leads(url, [], user=f"validate-{int(time.time())}")
        body = {"recipient_email": "someone@prospect.example", "sender_email": SENDER}
        smtp = SlowCaptureServer(work / "smtp", delay=0)
        smtp.start()
        bare_port = free_port()
        bare = start_bare(bare_port, work)
        try:
            env = live_env(
                url, smtp, SENDWARDEN_LOG_LEVEL="WARNING", SENDWARDEN_KEEP_ALIVE=KEEP_ALIVE
            )
            with LiveServer(env, workers=1, workdir=work / "server") as server:
                async with httpx.AsyncClient() as client:
                    check = await client.post(
                        server.base_url + VALIDATE, json=body, headers=seeded.headers
                    )
                assert check.status_code == 200, check.text
                print(
                    f"validate vs bare FastAPI on {description}, c={args.c},"
                    f" {args.duration} s runs, {bodies_described(args)}"
                )
                ratios = []
                for round_ in range(1, args.rounds + 1):
                    bare_rate, bare_p99, bare_cpu = wrk(
                        f"http://127.0.0.1:{bare_port}/bare", body, {}, args, bare.pid
                    )
                    batches, items = validate_batches(server.base_url)
                    rate, p99, cpu = wrk(
                        server.base_url + VALIDATE, body, seeded.headers, args, server_pid(server)
                    )
                    after_batches, after_items = validate_batches(server.base_url)
                    batch = (after_items - items) / max(after_batches - batches, 1)
                    ratio = rate / bare_rate
                    ratios.append(ratio)
                    print(
                        f"  round {round_}: bare {bare_rate:7.0f} req/s p99 {bare_p99:6.1f} ms | "
                        f"validate {rate:6.0f} req/s p99 {p99:7.1f} ms | ratio {ratio:.1%} "
                        f"(to goal {ratio / GOAL_RATIO:.2f}; p99 to goal {GOAL_P99_MS / p99:.2f})\n"
                        f"    server CPU per request: bare {bare_cpu:.3f} ms, validate {cpu:.3f} ms"
                        f" ({cpu / bare_cpu:.1f}x); validates per transaction {batch:.1f}",
                        flush=True,
                    )
                low, high = min(ratios), max(ratios)
                print(f"  ratio min/max {low:.1%} / {high:.1%} (goal >= {GOAL_RATIO:.0%})")
        finally:
            bare.terminate()
            bare.wait(10)
            smtp.stop()


if __name__ == "__main__":
    asyncio.run(main())
