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
from pathlib import Path
from types import TracebackType

import uvicorn
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from sendwarden.api.app import create_app
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
        self.eml: EmlWriter | None = None
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
        self.eml = EmlWriter(self.directory / MESSAGES_DIR)
        password = secrets.token_urlsafe(16)
        # Building the server writes its certificate; starting it waits for its thread.
        self.capture = await asyncio.to_thread(
            CaptureServer,
            self.directory / SMTP_DIR,
            username="demo",
            password=password,
            on_message=self.eml,
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
