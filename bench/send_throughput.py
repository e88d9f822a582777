"""Send throughput: the real server end to end, against raw SMTP senders on the same sink.

Run from the repository root:
    python bench/send_throughput.py                 # SQLite, 1 and 2 workers, loopback + 25 ms RTT
    python bench/send_throughput.py --quick
    python bench/send_throughput.py --database-url postgresql://postgres@127.0.0.1/test \\
        --workers 2 --pool-size 16

It starts a STARTTLS+AUTH aiosmtpd sink in its own process (sharing the GIL
with the load generator would cost ~25 %), then measures on loopback:
  (a) the pure transport ceiling: raw aiosmtplib sending pre-built messages
      over one persistent STARTTLS+AUTH connection (best of 3 runs),
  (a+) the same, the client building each message with the `email` package,
  (b) a naive sender opening a new STARTTLS connection per message,
  end to end: `sendwarden serve --workers W` taking POST /outreach/send at
      concurrency C, each request to a distinct lead (caps raised),
and repeats (b) and end to end through a proxy process that adds RTT between
sender and sink. Targets: loopback end to end >= 50 % of (a) for each worker
count; with 25 ms RTT, end to end >= 10 x (b). It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import json
import multiprocessing
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg  # type: ignore[import-untyped]
from aiosmtpd.smtp import SMTP, Envelope, Session

from sendwarden.api.app import API_PREFIX
from sendwarden.devsmtp.server import CaptureHandler, CaptureServer
from sendwarden.storage.migrate import upgrade_async

if __package__ in (None, ""):  # run as a script: make the repository's test helpers importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.live_server import (  # noqa: E402
    LiveServer,
    live_env,
    process_cpu_seconds,
    seed_leads,
    send_payload,
)

SEND = f"{API_PREFIX}/outreach/send"
WARMUP = 20
RAW_RUNS = 3
MB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the sink: its own process --------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str
    password: str
    ca_file: Path


class _CountingHandler(CaptureHandler):
    """Accepts every message and only counts it: the sink should cost as little as possible."""

    def __init__(self, server: CaptureServer, counter: Synchronized[int]) -> None:
        super().__init__(server.store)
        self._counter = counter

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._counter.get_lock():
            self._counter.value += 1
        return "250 2.0.0 OK"


class _CountingSink(CaptureServer):
    def __init__(self, directory: Path, counter: Synchronized[int]) -> None:
        self._counter = counter
        super().__init__(directory)

    def make_handler(self) -> CaptureHandler:
        return _CountingHandler(self, self._counter)


def _run_sink(directory: str, counter: Synchronized[int], conn: Connection) -> None:
    sink = _CountingSink(Path(directory), counter)
    sink.start()
    conn.send((sink.port, sink.username, sink.password, str(sink.ca_file)))
    conn.recv()  # any message: stop
    sink.stop()


# -- the delaying proxy: its own process ----------------------------------------------------


async def _forward(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Copy bytes one way, each chunk released `delay` seconds after it arrived (order kept)."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while data := await reader.read(65536):
            chunks.put_nowait((loop.time() + delay, data))
        chunks.put_nowait((loop.time() + delay, b""))

    async def release() -> None:
        while True:
            due, data = await chunks.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    try:
        await asyncio.gather(receive(), release())
    except (ConnectionError, OSError):
        writer.close()


async def _proxy(target_port: int, rtt: float, conn: Connection) -> None:
    one_way = rtt / 2

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(rtt)  # the TCP handshake a remote server would cost
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(
            _forward(client_r, server_w, one_way), _forward(server_r, client_w, one_way)
        )

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    await asyncio.to_thread(conn.recv)
    server.close()


def _run_proxy(target_port: int, rtt: float, conn: Connection) -> None:
    asyncio.run(_proxy(target_port, rtt, conn))


class Helper:
    """A child process (spawned, so it shares nothing) that reports one value and waits."""

    def __init__(self, target: Any, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self.process = context.Process(target=target, args=(*args, child_conn), daemon=True)
        self.process.start()
        self.ready: Any = self._conn.recv()

    @property
    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid or 0)

    def stop(self) -> None:
        self._conn.send("stop")
        self.process.join(10)


# -- where the CPU goes ------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (every process, ours or not)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuUsage:
    seconds: float
    by_part: dict[str, float]  # CPU seconds during the measured run
    machine: float

    def describe(self, count: int) -> str:
        parts = ", ".join(f"{k} {v * 1000 / count:.1f}" for k, v in self.by_part.items())
        ours = sum(self.by_part.values())
        return (
            f"CPU ms/send: {parts}; machine busy {self.machine / self.seconds:.2f}"
            f" of {os.cpu_count()} cores, {(self.machine - ours) / self.seconds:.2f} of them"
            " outside this benchmark"
        )


class CpuProbe:
    """CPU used by each part (server, sink, load generator, local PostgreSQL backends)."""

    def __init__(self, server: LiveServer, helpers: dict[str, Helper], database_url: str) -> None:
        self._server = server
        self._helpers = helpers
        self._pg_dsn = (
            database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            if database_url.startswith("postgresql")
            else None
        )
        self._before: dict[str, float] = {}
        self._backends_before: dict[int, float] = {}

    async def _backends(self) -> dict[int, float]:
        if self._pg_dsn is None:
            return {}
        conn = await asyncpg.connect(self._pg_dsn)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return {row["pid"]: process_cpu_seconds(row["pid"]) for row in rows}

    def _parts(self) -> dict[str, float]:
        return {
            "server": self._server.cpu_seconds(),
            **{name: helper.cpu_seconds for name, helper in self._helpers.items()},
            "load generator": time.process_time(),
            "machine": machine_busy_seconds(),
        }

    async def start(self) -> None:
        self._backends_before = await self._backends()
        self._before = self._parts()

    async def stop(self, seconds: float) -> CpuUsage:
        after = self._parts()
        used = {k: after[k] - self._before[k] for k in after}
        machine = used.pop("machine")
        if self._pg_dsn is not None:
            # Backends that exited during the run are missed: the pool keeps its connections.
            backends = await self._backends()
            used["postgres"] = sum(
                cpu - self._backends_before.get(pid, 0.0) for pid, cpu in backends.items()
            )
        return CpuUsage(seconds, used, machine)


# -- measurements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    label: str
    count: int
    seconds: float
    latencies: list[float]
    rss: int | None = None
    cpu: CpuUsage | None = None
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        text = f"{self.label}: {self.count} in {self.seconds:.1f} s = {self.rate:.1f}/s"
        if len(self.latencies) > 1:
            cuts = statistics.quantiles(self.latencies, n=100)
            text += f"; p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"
        if self.rss is not None:
            text += f"; server RSS {self.rss / MB:.0f} MB"
        if self.errors:
            text += f"; {self.errors} NOT delivered"
        if self.cpu is not None:
            text += "\n      " + self.cpu.describe(self.count)
        return text


SAMPLE_SENDER = "outreach@sender.example"
SMTP_POLICY = email.policy.SMTP
CEILING_LABELS = {
    True: "(a) pure transport: pre-built messages, 1 persistent connection",
    False: "(a+) raw aiosmtplib building each message with `email`, 1 connection",
}


def sample_message(index: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SAMPLE_SENDER
    message["To"] = f"editor{index}@site{index}.example"
    message["Subject"] = "Guest post idea"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@sender.example>"
    message.set_content("Hello,\nI enjoyed your article and have an idea for a guest post.\n" * 8)
    return message


def client_tls(target: SmtpTarget) -> ssl.SSLContext:
    """Verified TLS, as the app does it (transport.pool.build_tls_context)."""
    return ssl.create_default_context(cafile=str(target.ca_file))


async def raw_persistent(target: SmtpTarget, count: int, *, prebuilt: bool) -> Figures:
    """One connection, STARTTLS and AUTH once, then messages back to back.

    prebuilt: (a) the pure transport ceiling, every message's bytes built before
    the clock starts; otherwise (a+) the client builds each one with the `email`
    package as it goes, as a simple script would.
    """
    smtp = aiosmtplib.SMTP(
        hostname="localhost", port=target.port, start_tls=True, tls_context=client_tls(target)
    )
    await smtp.connect()
    await smtp.login(target.username, target.password)
    built = [sample_message(index) for index in range(count)] if prebuilt else []
    wire = [(str(m["To"]), m.as_bytes(policy=SMTP_POLICY)) for m in built]
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        sent = time.perf_counter()
        if prebuilt:
            recipient, raw = wire[index]
            await smtp.sendmail(SAMPLE_SENDER, [recipient], raw)
        else:
            await smtp.send_message(sample_message(index))
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    await smtp.quit()
    return Figures(CEILING_LABELS[prebuilt], count, seconds, latencies)


async def raw_naive(target: SmtpTarget, count: int) -> Figures:
    """(b): what a simple script does: a fresh STARTTLS+AUTH connection per message."""
    context = client_tls(target)
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        sent = time.perf_counter()
        await aiosmtplib.send(
            sample_message(index),
            hostname="localhost",
            port=target.port,
            username=target.username,
            password=target.password,
            start_tls=True,
            tls_context=context,
        )
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    return Figures("(b) naive, new STARTTLS connection per message", count, seconds, latencies)


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one kept-alive connection.

    The load generator shares this machine's cores with the server under test;
    httpx spent ~2.5 ms of CPU per request here, this ~0.1 ms. It handles only
    what `sendwarden serve` answers: a Content-Length body, no chunking.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> KeepAliveClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self._host}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self._reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return status

    def close(self) -> None:
        self._writer.close()


@dataclass(frozen=True)
class EndToEndSetup:
    database_url: str
    workdir: Path
    workers: int
    count: int
    concurrency: int
    pool_size: int | None
    log_level: str


async def end_to_end(
    setup: EndToEndSetup,
    target: SmtpTarget,
    helpers: dict[str, Helper],
    counter: Synchronized[int],
) -> Figures:
    # Addresses new to this database: the duplicate rule spans users (and runs), so
    # a recipient sent to by an earlier run would be blocked, not sent.
    tag = uuid.uuid4().hex[:12]
    emails = [f"editor{i}@site{i}-{tag}.example" for i in range(setup.count + WARMUP)]
    seeded = await seed_leads(setup.database_url, emails, user=f"bench-{tag}")
    extra: dict[str, str | int] = {
        "SENDWARDEN_USER_DAILY_CAP": 10 * len(emails),
        "SENDWARDEN_DOMAIN_DAILY_CAP": 10 * len(emails),
        "SENDWARDEN_LOG_LEVEL": setup.log_level,
    }
    if setup.pool_size is not None:
        extra["SMTP_POOL_SIZE"] = setup.pool_size
    server = LiveServer(
        live_env(setup.database_url, target, **extra),
        workers=setup.workers,
        workdir=setup.workdir / f"server-{uuid.uuid4().hex[:8]}",
    )
    server.start()
    try:
        latencies: list[float] = []
        failures = 0

        async def run(batch: list[str], record: bool) -> None:
            nonlocal failures
            queue = iter(batch)
            connections = [
                await KeepAliveClient.open(server.host, server.port)
                for _ in range(min(setup.concurrency, len(batch)))
            ]

            async def worker(connection: KeepAliveClient) -> None:
                nonlocal failures
                for email in queue:
                    body = json.dumps(send_payload(seeded, email)).encode()
                    sent = time.perf_counter()
                    status = await connection.post(SEND, body, seeded.headers)
                    if record:
                        latencies.append(time.perf_counter() - sent)
                    if status != 200:
                        failures += 1

            try:
                await asyncio.gather(*(worker(c) for c in connections))
            finally:
                for connection in connections:
                    connection.close()

        await run(emails[:WARMUP], False)
        delivered_before = counter.value
        probe = CpuProbe(server, helpers, setup.database_url)
        await probe.start()
        started = time.perf_counter()
        await run(emails[WARMUP:], True)
        seconds = time.perf_counter() - started
        usage = await probe.stop(seconds)
        rss = server.rss_bytes()
        delivered = counter.value - delivered_before
    finally:
        server.stop()
    pool = setup.pool_size or "default"
    label = (
        f"end to end, {setup.workers} worker{'s' if setup.workers > 1 else ''},"
        f" SMTP pool {pool}/worker, c={setup.concurrency}"
    )
    return Figures(
        label,
        setup.count,
        seconds,
        latencies,
        rss,
        usage,
        errors=max(failures, setup.count - delivered),
    )


# -- the run ----------------------------------------------------------------------------------


async def prepare_database(url: str | None, workdir: Path) -> tuple[str, str]:
    """(url, description). SQLite: a fresh file; PostgreSQL: migrated, rows left as they are."""
    if url is None:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await upgrade_async(url)
        return url, "SQLite (file, WAL)"
    url = url.replace("postgres://", "postgresql://", 1)
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    await upgrade_async(url)
    return url, "PostgreSQL"


@dataclass(frozen=True)
class Ceilings:
    pure: Figures  # (a): pre-built messages
    built: Figures  # (a+): each message built with `email` as it is sent

    def ratios(self, figures: Figures) -> str:
        return (
            f"{figures.rate / self.pure.rate:.0%} of (a) pure,"
            f" {figures.rate / self.built.rate:.0%} of (a+) building"
        )


async def ceilings(target: SmtpTarget, count: int) -> Ceilings:
    """Both ceilings, each the best of RAW_RUNS runs, the two kinds interleaved.

    This machine's speed drifts by a third between runs: the best of a few, so
    that a slow moment cannot flatter the ratio; interleaved, so that a drift
    affects both alike.
    """
    runs: dict[bool, list[Figures]] = {True: [], False: []}
    for _ in range(RAW_RUNS):
        for prebuilt in (True, False):
            runs[prebuilt].append(await raw_persistent(target, count, prebuilt=prebuilt))
    best = {}
    for prebuilt, figures in runs.items():
        best[prebuilt] = max(figures, key=lambda f: f.rate)
        others = ", ".join(f"{f.rate:.0f}" for f in figures)
        print(f"  {best[prebuilt].line()} (best of {RAW_RUNS}: {others}/s)", flush=True)
    return Ceilings(pure=best[True], built=best[False])


async def scenario(
    title: str,
    target: SmtpTarget,
    helpers: dict[str, Helper],
    counter: Synchronized[int],
    setups: list[EndToEndSetup],
    naive_count: int,
    raw_count: int | None,
) -> tuple[Ceilings | None, Figures, list[Figures]]:
    print(title, flush=True)
    ceiling = await ceilings(target, raw_count) if raw_count else None
    naive = await raw_naive(target, naive_count)
    print("  " + naive.line(), flush=True)
    results = []
    for setup in setups:
        figures = await end_to_end(setup, target, helpers, counter)
        results.append(figures)
        ratios = f"{figures.rate / naive.rate:.1f} x (b)"
        if ceiling is not None:
            ratios = f"{ceiling.ratios(figures)}, {ratios}"
        print(f"  {figures.line()}\n      -> {ratios}", flush=True)
    return ceiling, naive, results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="sends per end-to-end run (1000)")
    parser.add_argument("-c", type=int, default=32, help="concurrent HTTP requests (32)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=None,
        help="server worker counts (1 2; with --quick, 1)",
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=25.0,
        help="added round-trip time for the second part (25; 0 skips it)",
    )
    parser.add_argument(
        "--pool-size", type=int, default=None, help="SMTP_POOL_SIZE per worker (app default)"
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: SQLite file)"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="SENDWARDEN_LOG_LEVEL of the server (INFO)"
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    n = 200 if args.quick else args.n
    if args.workers is None:
        args.workers = [1] if args.quick else [1, 2]
    workdir = Path(tempfile.mkdtemp(prefix="sendwarden-bench-"))
    counter: Synchronized[int] = multiprocessing.get_context("spawn").Value("q", 0)
    sink = Helper(_run_sink, str(workdir / "sink"), counter)
    port, username, password, ca_file = sink.ready
    direct = SmtpTarget("localhost", port, username, password, Path(ca_file))
    proxy: Helper | None = None
    try:
        url, db_name = await prepare_database(args.database_url, workdir)

        def setups(count: int) -> list[EndToEndSetup]:
            return [
                EndToEndSetup(url, workdir, w, count, args.c, args.pool_size, args.log_level)
                for w in args.workers
            ]

        print(f"sink: aiosmtpd STARTTLS+AUTH (EC P-256) in its own process; database: {db_name}")
        ceiling, naive, loopback = await scenario(
            "loopback:",
            direct,
            {"sink": sink},
            counter,
            setups(n),
            naive_count=min(n, 300),
            raw_count=n,
        )
        assert ceiling is not None
        summary = [
            f"target loopback end to end >= 50 % of (a) pure, {w} worker(s):"
            f" {f.rate / ceiling.pure.rate / 0.5:.2f} x goal ({ceiling.ratios(f)})"
            for w, f in zip(args.workers, loopback, strict=True)
        ]
        if args.rtt_ms > 0:
            proxy = Helper(_run_proxy, port, args.rtt_ms / 1000)
            delayed = SmtpTarget("localhost", proxy.ready, username, password, Path(ca_file))
            _, slow_naive, far = await scenario(
                f"with {args.rtt_ms:g} ms RTT to the sink (delaying proxy in its own process):",
                delayed,
                {"sink": sink, "proxy": proxy},
                counter,
                setups(max(100, n // 2)),
                naive_count=20 if args.quick else 40,
                raw_count=None,
            )
            best = max(f.rate for f in far) / slow_naive.rate
            summary.append(
                f"target {args.rtt_ms:g} ms RTT end to end >= 10 x (b): best {best:.1f} x"
            )
        print("\n".join(summary))
    finally:
        if proxy is not None:
            proxy.stop()
        sink.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
