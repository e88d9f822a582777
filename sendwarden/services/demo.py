"""The zero-configuration demo: the real pipeline, end to end, on this machine only.

A throwaway SQLite database, the built-in STARTTLS+AUTH capture server (TLS
verification stays on, trusting its self-signed certificate) and the real
HTTP API on a free loopback port, driven over HTTP with an API key exactly as
an application would. Nothing leaves the machine and nothing is read from the
environment or a `.env` file.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sendwarden.api.app import API_PREFIX, create_app
from sendwarden.config import Settings
from sendwarden.devsmtp import CapturedMessage, CaptureServer
from sendwarden.services.errors import ServiceError
from sendwarden.storage import users
from sendwarden.storage.db import Database
from sendwarden.storage.migrate import upgrade_async

DEMO_USER = "demo"
# `.test` is refused by the address validation (a special-use name); `.example` is not.
DEMO_FROM = "outreach@demo.sendwarden.example"
DEMO_FROM_NAME = "Sendwarden Demo"
DEMO_DOMAIN_CAP = 2
DATABASE_FILE = "sendwarden-demo.db"
SMTP_DIR = "smtp"
MESSAGES_DIR = "messages"
STARTUP_TIMEOUT = 15.0


class DemoFailed(ServiceError):
    """A demo step did not behave as the pipeline promises."""


class DemoSettings(Settings):
    """Settings taken only from the constructor: no environment, no `.env` file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True)
class DemoLead:
    email: str
    website: str
    name: str
    consent: bool = False


@dataclass(frozen=True)
class DemoStep:
    """One send of the scenario and what it is meant to show."""

    shows: str
    recipient: str
    subject: str
    blocked_by: str | None = None  # the policy check expected to refuse it


SUPPRESSED = "no-thanks@example-shop.com"
CAPPED_DOMAIN = "example-blog.com"

LEADS = (
    DemoLead("editor@beispiel-verlag.de", "https://beispiel-verlag.de/", "Anna Schmidt", True),
    DemoLead("desk@example-news.co.uk", "https://example-news.co.uk/", "Oliver Jones", True),
    DemoLead(f"editor@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/", "Emma Brown"),
    DemoLead(f"guestposts@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/write-for-us", "Liam"),
    DemoLead(f"tips@{CAPPED_DOMAIN}", f"https://{CAPPED_DOMAIN}/tips", "Tips desk"),
    DemoLead(SUPPRESSED, "https://example-shop.com/", "Shop owner"),
)

FIRST_SUBJECT = "Guest post idea for beispiel-verlag.de"
STEPS = (
    DemoStep("EU recipient: consent is the legal basis", LEADS[0].email, FIRST_SUBJECT),
    DemoStep("UK recipient: consent is the legal basis", LEADS[1].email, "Story idea for you"),
    DemoStep("US recipient: legitimate interest", LEADS[2].email, "Guest post idea"),
    DemoStep(f"2nd send to {CAPPED_DOMAIN} today (cap 2)", LEADS[3].email, "Write for us?"),
    DemoStep(
        f"3rd send to {CAPPED_DOMAIN}: domain cap",
        LEADS[4].email,
        "A tip for you",
        "daily_domain_cap",
    ),
    DemoStep("Recipient on the suppression list", SUPPRESSED, "Partnership idea", "suppression"),
    DemoStep("Same pitch to the same person again", LEADS[0].email, FIRST_SUBJECT, "idempotency"),
)
EXPECTED_DELIVERED = 4
BODY = (
    "Hello,\n\nI enjoyed your recent article and would like to propose a guest post.\n\n"
    "(Sent by `sendwarden demo` to a local capture server: nothing left this machine.)\n"
)


@dataclass(frozen=True)
class DemoSend:
    shows: str
    attempt_id: int | None
    recipient: str
    region: str
    legal_basis: str
    result: str  # "sent" or "blocked"
    rule: str | None  # the failing policy check, when blocked
    reason: str


@dataclass(frozen=True)
class DemoReport:
    directory: Path
    database_file: Path
    api_url: str
    api_key: str
    smtp_port: int
    validation: dict[str, Any]
    sends: tuple[DemoSend, ...]
    maildir: Path
    eml_dir: Path
    captured: int

    def __repr__(self) -> str:  # the API key stays out of logs and tracebacks
        return f"DemoReport(directory={self.directory!r}, api_url={self.api_url!r})"


class EmlWriter:
    """Also keeps every captured message as a numbered `.eml` file, easy to open."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, message: CapturedMessage) -> None:
        with self._lock:
            self.count += 1
            number = self.count
        recipient = message.rcpt_tos[0] if message.rcpt_tos else "unknown"
        safe = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in recipient)
        (self.directory / f"{number:03d}-{safe}.eml").write_bytes(message.raw)


def prepare_directory(directory: Path) -> None:
    """Remove what an earlier demo left in `directory` (only the demo's own files)."""
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (directory / f"{DATABASE_FILE}{suffix}").unlink(missing_ok=True)
    for sub in (SMTP_DIR, MESSAGES_DIR):
        shutil.rmtree(directory / sub, ignore_errors=True)
    (directory / MESSAGES_DIR).mkdir()


def free_loopback_socket() -> socket.socket:
    """Bound before the app exists, so the app's public URL can name the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def demo_settings(directory: Path, capture: CaptureServer, password: str, api_url: str) -> Settings:
    return DemoSettings(
        database_url=f"sqlite+aiosqlite:///{directory / DATABASE_FILE}",
        smtp_host="localhost",
        smtp_port=capture.port,
        smtp_user=capture.username,
        smtp_pass=password,
        smtp_ca_file=capture.ca_file,
        smtp_verify_tls=True,
        smtp_send_timeout=10.0,
        smtp_from_email=DEMO_FROM,
        smtp_from_name=DEMO_FROM_NAME,
        smtp_pool_size=1,
        sendwarden_domain_daily_cap=DEMO_DOMAIN_CAP,
        sendwarden_public_url=api_url,
        sendwarden_log_level="WARNING",
    )


class DemoEnvironment:
    """Capture server + migrated database + HTTP API, started and stopped together."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.capture: CaptureServer | None = None
        self.server: uvicorn.Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._eml: EmlWriter | None = None
        self.api_url = ""
        self.api_key = ""
        self.settings: Settings | None = None

    async def __aenter__(self) -> DemoEnvironment:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _start(self) -> None:
        await asyncio.to_thread(prepare_directory, self.directory)
        self._eml = EmlWriter(self.directory / MESSAGES_DIR)
        password = secrets.token_urlsafe(16)
        # Building the server writes its certificate; starting it waits for its thread.
        self.capture = await asyncio.to_thread(
            CaptureServer,
            self.directory / SMTP_DIR,
            username="demo",
            password=password,
            on_message=self._eml,
        )
        await asyncio.to_thread(self.capture.start)
        sock = free_loopback_socket()
        self.api_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.settings = demo_settings(self.directory, self.capture, password, self.api_url)
        await upgrade_async(self.settings.database_url)
        self.api_key = await self._create_user(self.settings)
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.settings),
                log_level="warning",
                log_config=None,
                access_log=False,
                lifespan="on",
            )
        )
        self._server_task = asyncio.create_task(self.server.serve(sockets=[sock]))
        await self._wait_until_serving()

    @staticmethod
    async def _create_user(settings: Settings) -> str:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                user = await users.create_user(session, DEMO_USER, is_admin=True)
                return (await users.issue_key(session, user, "demo")).plaintext
        finally:
            await db.dispose()

    async def _wait_until_serving(self) -> None:
        assert self.server is not None and self._server_task is not None
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
        while not self.server.started:
            if self._server_task.done():
                self._server_task.result()
                raise DemoFailed("the demo API server stopped while starting")
            if asyncio.get_running_loop().time() > deadline:
                raise DemoFailed("the demo API server did not start in time")
            await asyncio.sleep(0.01)

    async def serve_until_stopped(self) -> None:
        """Keep the API and the capture server up until the process is interrupted."""
        assert self._server_task is not None
        await self._server_task

    async def stop(self) -> None:
        if self.server is not None and self._server_task is not None:
            self.server.should_exit = True
            if not self._server_task.done():
                await asyncio.wait({self._server_task}, timeout=10)
        if self.capture is not None:
            await asyncio.to_thread(self.capture.stop)
            self.capture = None

    async def run_scenario(self) -> DemoReport:
        """Drive the API like an application: campaign, leads, suppression, sends."""
        assert self.capture is not None and self._eml is not None
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with httpx.AsyncClient(
            base_url=self.api_url + API_PREFIX, headers=headers, timeout=30, trust_env=False
        ) as client:
            api = _Api(client)
            campaign = await api.post(
                "/campaigns",
                {"name": "Demo: guest posts", "description": "Created by `sendwarden demo`"},
                expect=201,
            )
            leads = await api.post(
                f"/campaigns/{campaign['id']}/leads/bulk",
                {
                    "leads": [
                        {
                            "website_url": lead.website,
                            "contact_email": lead.email,
                            "contact_name": lead.name,
                            "consent": lead.consent,
                        }
                        for lead in LEADS
                    ]
                },
            )
            if leads["failed"]:
                raise DemoFailed(f"adding the demo leads failed: {leads['failed']}")
            lead_ids = {lead["contact_email"]: lead["id"] for lead in leads["leads"]}
            await api.post(
                "/suppression",
                {"email": SUPPRESSED, "reason": "Asked not to be contacted"},
                expect=201,
            )
            validation = await api.post(
                "/policy/validate", {"recipient_email": LEADS[0].email, "subject": FIRST_SUBJECT}
            )
            sends = [
                await api.send(step, campaign["id"], lead_ids[step.recipient]) for step in STEPS
            ]
        for step, sent in zip(STEPS, sends, strict=True):
            if sent.rule != step.blocked_by:
                raise DemoFailed(
                    f"{step.shows}: expected {step.blocked_by or 'delivery'}, got"
                    f" {sent.result} ({sent.reason})"
                )
        await asyncio.to_thread(self.capture.wait_for, EXPECTED_DELIVERED, 10.0)
        return DemoReport(
            directory=self.directory,
            database_file=self.directory / DATABASE_FILE,
            api_url=self.api_url,
            api_key=self.api_key,
            smtp_port=self.capture.port,
            validation=validation,
            sends=tuple(sends),
            maildir=self.capture.directory / "Maildir",
            eml_dir=self._eml.directory,
            captured=len(self.capture.messages),
        )


class _Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, payload: dict[str, Any], *, expect: int = 200) -> Any:
        response = await self.client.post(path, json=payload)
        if response.status_code != expect:
            raise DemoFailed(f"POST {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        if response.status_code != 200:
            raise DemoFailed(f"GET {path} answered {response.status_code}")
        return response.json()

    async def send(self, step: DemoStep, campaign_id: int, lead_id: int) -> DemoSend:
        payload = {"campaign_id": campaign_id, "lead_id": lead_id, "subject": step.subject}
        response = await self.client.post("/outreach/send", json={**payload, "body": BODY})
        body = response.json()
        if response.status_code == 200:
            return _demo_send(step, body, rule=None)
        if response.status_code == 403:
            attempt = await self.get(f"/attempts/{body['attempt_id']}")
            rule = next((c["name"] for c in body["checks"] if not c["passed"]), None)
            return _demo_send(step, attempt, rule=rule)
        raise DemoFailed(
            f"sending to {step.recipient} answered {response.status_code}: {body.get('detail')}"
        )


def _demo_send(step: DemoStep, attempt: dict[str, Any], *, rule: str | None) -> DemoSend:
    return DemoSend(
        shows=step.shows,
        attempt_id=attempt["id"],
        recipient=attempt["recipient_email"],
        region=attempt["region"],
        legal_basis=attempt["legal_basis"],
        result=attempt["status"],
        rule=rule,
        reason=attempt["reason"],
    )
