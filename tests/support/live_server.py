"""The HTTP API as a real `sendwarden serve` subprocess, for scale-out, crash and benchmark runs.

The server runs in its own session (process group), so `kill()` takes down the
supervisor and all its workers at once, like a crashed host would, and nothing
outlives the test. Its output goes to a log file, not a pipe, so a chatty
server can never block on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.devsmtp.server import CapturedMessage, CaptureHandler, CaptureServer
from sendwarden.services.leads import LeadInput, add_lead
from sendwarden.storage import campaigns, users
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from sendwarden.storage.models import DailyCounter

# Variables the server reads as settings: only the caller's env decides them.
_SETTING_PREFIXES = ("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_", "PROMETHEUS_")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_TCP_ESTABLISHED = "01"


SENDER = "outreach@sender.example"
SECRET_KEY = "live-server-test-secret"


def live_database(database_url: str) -> Database:
    """The database as the live server sees it, with the audit key its secret derives."""
    return Database(database_url, audit_key=AuditKey(database_url, secret=SECRET_KEY.encode()))


class ServerFailed(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def server_env(settings_env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its Sendwarden settings, plus `settings_env`."""
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SETTING_PREFIXES)}
    return {**base, **settings_env}


class SmtpEndpoint(Protocol):
    """Where and how to log in: a CaptureServer, or a sink running in another process."""

    @property
    def port(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def ca_file(self) -> Path: ...


def live_env(database_url: str, smtp: SmtpEndpoint, **settings: str | int) -> dict[str, str]:
    """Settings for a server that sends through `smtp` with TLS verification on.

    Keyword names are env var names, e.g. `SENDWARDEN_DOMAIN_DAILY_CAP=20`.
    """
    env = {
        "DATABASE_URL": database_url,
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(smtp.port),
        "SMTP_USER": smtp.username,
        "SMTP_PASS": smtp.password,
        "SMTP_CA_FILE": str(smtp.ca_file),
        "SMTP_FROM_EMAIL": SENDER,
        "SMTP_ALLOWED_FROM_EMAILS": "*@sender.example",
        "SENDWARDEN_SECRET_KEY": SECRET_KEY,
        "SENDWARDEN_LOG_LEVEL": "WARNING",
        "SENDWARDEN_POLL_INTERVAL": "0",
    }
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


class LiveServer:
    """`sendwarden serve --workers N` on a free loopback port; `start()` waits for /healthz.

    The port is chosen once and kept across restarts, so clients keep their base URL.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 1,
        workdir: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.env = dict(env)
        self.workers = workers
        self.workdir = workdir
        self.host = host
        self.port = port or free_port(host)
        self.log_path = workdir / "server.log"
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LiveServer(port={self.port}, workers={self.workers}, pid={self.pid})"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "sendwarden.cli",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start(self, timeout: float = 60.0) -> LiveServer:
        if self.running:
            raise RuntimeError("the server is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}: {' '.join(self.command())}\n".encode())
            log.flush()
            # cwd is the work dir so that no stray `.env` file feeds the settings.
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command(),
                env=server_env(self.env),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise ServerFailed(f"the server exited early; log:\n{self.log_tail()}")
                try:
                    if client.get("/healthz").status_code == 200 and self._workers_up():
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise ServerFailed(f"no healthy server after {timeout:.0f} s; log:\n{self.log_tail()}")

    def _workers_up(self) -> bool:
        # With several workers, /healthz answers as soon as the first one listens.
        return self.workers == 1 or len(self.worker_pids()) >= self.workers

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL whatever is left; returns the exit code."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL the supervisor and every worker at once: a crash, no shutdown code runs."""
        return self._reap()

    def _reap(self) -> int | None:
        process = self._process
        if process is None:
            return None
        # The session id equals the leader's pid; workers stay in that group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
        self._process = None
        return code

    def process_tree(self) -> list[int]:
        """The supervisor's pid followed by its descendants' pids."""
        if self.pid is None:
            return []
        tree = [self.pid]
        for pid in tree:
            tree.extend(_children(pid))
        return tree

    def worker_pids(self) -> list[int]:
        """Processes that listen for HTTP: the workers, or the server itself with one worker."""
        if self.workers == 1:
            return [self.pid] if self.pid is not None else []
        return [pid for pid in self.process_tree()[1:] if _is_worker(pid)]

    def rss_bytes(self) -> int:
        """Resident memory of the whole server (supervisor and workers)."""
        return sum(_rss(pid) for pid in self.process_tree())

    def worker_rss_bytes(self) -> int:
        """Resident memory of the processes that serve HTTP, without their helpers."""
        return sum(_rss(pid) for pid in self.worker_pids())

    def pss_bytes(self) -> int:
        """Proportional memory of the whole server: pages shared between its processes
        (a fork before exec, shared libraries) count once, split between them."""
        return sum(_pss(pid) for pid in self.process_tree())

    def client_ports(self) -> dict[int, set[int]]:
        """Worker pid -> the client ports of the HTTP connections it holds open."""
        established = _established(self.port)
        return {
            pid: {established[inode] for inode in _socket_inodes(pid) & established.keys()}
            for pid in self.worker_pids()
        }

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server's live processes have used so far."""
        return sum(process_cpu_seconds(pid) for pid in self.process_tree())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _SlowHandler(CaptureHandler):
    """Keeps the message, then waits before answering: a crash in that window is the
    dangerous one (delivered, but the sender never heard so)."""

    def __init__(self, server: SlowCaptureServer) -> None:
        super().__init__(server.store)
        self._delay = server.delay

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self._delay)
        return reply


class SlowCaptureServer(CaptureServer):
    """STARTTLS+AUTH capture server that takes `delay` seconds to answer each DATA."""

    def __init__(self, directory: Path, *, delay: float, **kwargs: Any) -> None:
        self.delay = delay
        super().__init__(directory, **kwargs)

    def make_handler(self) -> CaptureHandler:
        return _SlowHandler(self)


@dataclass(frozen=True)
class Seeded:
    user_id: int
    api_key: str
    campaign_id: int
    lead_ids: dict[str, int]  # contact email -> lead id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def seed_leads(database_url: str, emails: Iterable[str], *, user: str = "load") -> Seeded:
    """One user with an API key, one campaign, one lead per address (all in one transaction)."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            owner = await users.create_user(session, user)
            issued = await users.issue_key(session, owner, "live")
            campaign = await campaigns.create_campaign(
                session, user_id=owner.id, name="live", description=None
            )
            lead_ids: dict[str, int] = {}
            for email in emails:
                site = f"https://{email.partition('@')[2]}/{email.partition('@')[0]}"
                lead, _ = await add_lead(
                    session,
                    user_id=owner.id,
                    campaign_id=campaign.id,
                    data=LeadInput(website_url=site, contact_email=email),
                )
                lead_ids[email] = lead.id
    finally:
        await database.dispose()
    return Seeded(owner.id, issued.plaintext, campaign.id, lead_ids)


def send_payload(seeded: Seeded, email: str, subject: str = "Guest post idea") -> dict[str, Any]:
    return {
        "campaign_id": seeded.campaign_id,
        "lead_id": seeded.lead_ids[email],
        "subject": subject,
        "body": "Hello,\nI enjoyed your article and have an idea for a guest post.\n",
    }


async def counter_totals(session: AsyncSession, user_id: int) -> dict[tuple[str, str], int]:
    """(scope, key) -> count, summed over days, for one user."""
    rows = await session.execute(
        select(DailyCounter.scope, DailyCounter.scope_key, func.sum(DailyCounter.count))
        .where(DailyCounter.user_id == user_id)
        .group_by(DailyCounter.scope, DailyCounter.scope_key)
    )
    return {(scope, key): int(total) for scope, key, total in rows.all()}


def message_ids(messages: Iterable[CapturedMessage]) -> list[str]:
    parser = BytesHeaderParser()
    return [str(parser.parsebytes(m.raw).get("Message-ID", "")).strip() for m in messages]


# Hand-read /proc rather than adding psutil for three small lookups.


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return children


def _is_worker(pid: int) -> bool:
    # uvicorn's supervisor also starts multiprocessing's resource tracker.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing" not in cmdline or b"spawn_main" in cmdline


def process_cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _rss(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * _PAGE_SIZE


def _pss(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _established(local_port: int) -> dict[str, int]:
    """Socket inode -> remote port, for established TCP connections on `local_port`."""
    found: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if port == local_port and fields[3] == _TCP_ESTABLISHED:
                found[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return found
