"""Errors that name the cause and the fix (issue 13 item 2).

SMTP failures run against the real STARTTLS+AUTH test server with faults injected.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from sendwarden.api.app import API_PREFIX
from sendwarden.cli.main import app
from tests.support.harness import open_harness
from tests.support.smtp_server import PASSWORD, USERNAME, Faults, FaultyServer
from tests.test_cli import add_lead, assert_user_error

runner = CliRunner()
SENDER = "outreach@sender.example"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["--database-url", url, *args], env=env)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    with FaultyServer(tmp_path / "smtp") as running:
        yield running


def smtp_env(server: FaultyServer, **overrides: str) -> dict[str, str]:
    env = {
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(server.port),
        "SMTP_USER": USERNAME,
        "SMTP_PASS": PASSWORD,
        "SMTP_CA_FILE": str(server.ca_file),
        "SMTP_FROM_EMAIL": SENDER,
        "SMTP_SEND_TIMEOUT": "3",
    }
    env.update(overrides)
    return env


def assert_error_line(result: Result, *fragments: str) -> None:
    """Exit 1 with one `Error:` line; the in-process test server's own log lines aside."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith('{"event"')]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


def failed_send(url: str, env: dict[str, str]) -> tuple[Result, dict[str, Any]]:
    """Send once (expecting failure); the CLI result and the stored attempt."""
    assert cli(url, "users", "create", "alice").exit_code == 0
    campaign, lead = add_lead(url, "alice", "editor@example.com")
    args = ["send", "--campaign", str(campaign), "--lead", str(lead), "--subject", "Hi"]
    result = cli(url, *args, "--body", "Hello", env=env)
    shown = cli(url, "attempts", "show", "1", "--json")
    return result, json.loads(shown.stdout)


@pytest.mark.parametrize(
    ("faults", "env", "cause", "fix"),
    [
        (Faults(reject_auth=True), {}, "rejected the login (535", "SMTP_USER and SMTP_PASS"),
        (Faults(no_starttls=True), {}, "does not offer STARTTLS", "587 (STARTTLS) or 465"),
        (Faults(untrusted_cert=True), {}, "certificate", "SMTP_CA_FILE"),
        (Faults(), {"SMTP_CA_FILE": ""}, "not trusted", "SMTP_CA_FILE"),
        (Faults(rcpt_reply="550 5.1.1 No such user"), {}, "refused the recipient (550 5.1.1)", ""),
        (Faults(stall_seconds=5), {}, "Delivery outcome unknown: the SMTP", "SMTP_SEND_TIMEOUT"),
    ],
    ids=["auth", "no-starttls", "untrusted-cert", "no-ca-file", "rcpt", "timeout"],
)
def test_failed_send_names_cause_and_fix(
    sqlite_url: str,
    server: FaultyServer,
    faults: Faults,
    env: dict[str, str],
    cause: str,
    fix: str,
) -> None:
    server.faults = faults
    overrides = {k: v for k, v in env.items() if v}
    environment = smtp_env(server, **overrides)
    for name in (k for k, v in env.items() if not v):
        del environment[name]
    result, attempt = failed_send(sqlite_url, environment)
    assert_error_line(result, cause, fix, f"attempt 1 is recorded as {attempt['status']}")
    assert attempt["status"] in ("failed", "unknown")
    assert cause in attempt["reason"] and fix in attempt["reason"]
    if "unknown" not in cause:
        assert attempt["status"] == "failed" and attempt["reason"].startswith(
            "SMTP delivery failed"
        )
    assert PASSWORD not in result.output and PASSWORD not in attempt["reason"]


def test_failed_send_to_a_closed_port_names_host_and_port(
    sqlite_url: str, server: FaultyServer
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result, attempt = failed_send(sqlite_url, smtp_env(server, SMTP_PORT=str(port)))
    assert_error_line(result, f"cannot connect to the SMTP server localhost:{port}", "SMTP_PORT")
    assert f"localhost:{port}" in attempt["reason"]


async def test_http_500_stays_generic_while_the_attempt_explains(
    sqlite_url: str, server: FaultyServer
) -> None:
    server.faults = Faults(reject_auth=True)
    smtp = server.config()
    async with open_harness(
        sqlite_url,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=server.ca_file,
        smtp_from_email=SENDER,
    ) as api:
        headers = api.alice.headers
        campaign = await api.client.post(
            f"{API_PREFIX}/campaigns", json={"name": "c"}, headers=headers
        )
        lead = await api.client.post(
            f"{API_PREFIX}/campaigns/{campaign.json()['id']}/leads",
            json={"website_url": "https://example.com/", "contact_email": "ed@example.com"},
            headers=headers,
        )
        payload = {
            "campaign_id": campaign.json()["id"],
            "lead_id": lead.json()["id"],
            "subject": "Hi",
            "body": "Hello",
        }
        sent = await api.client.post(f"{API_PREFIX}/outreach/send", json=payload, headers=headers)
        attempts = await api.client.get(f"{API_PREFIX}/attempts", headers=headers)
    assert sent.status_code == 500 and sent.json() == {"detail": "An internal error occurred"}
    [attempt] = attempts.json()["items"]
    assert "rejected the login" in attempt["reason"] and "SMTP_PASS" in attempt["reason"]


def test_unsupported_database_scheme_is_one_line_naming_the_supported_ones() -> None:
    result = runner.invoke(app, ["--database-url", "mysql://u:secret@db/x", "users", "list"])
    assert_user_error(result, "mysql", "sqlite:///", "postgresql://")
    assert "secret" not in result.output


def test_poll_without_imap_says_it_once(sqlite_url: str) -> None:
    result = cli(sqlite_url, "poll")
    assert_user_error(result, "IMAP is not configured: set IMAP_HOST")
    assert result.stderr.count("not configured") == 1


def test_serve_on_a_busy_port_is_one_line_and_exit_1(sqlite_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sendwarden.cli", "--database-url", sqlite_url, "serve"]
            + ["--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("SMTP_")},
        )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is already in use: stop the other server or"
        " choose another with --port"
    ]


def test_serve_warns_when_smtp_host_is_unset(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sendwarden.cli.serve.uvicorn.run", lambda *a, **k: None)
    for name in ("DATABASE_URL", "SENDWARDEN_RECOVER_ON_START"):
        monkeypatch.setenv(name, "placeholder")  # so that monkeypatch restores what serve sets
        monkeypatch.delenv(name)
    without = cli(sqlite_url, "serve", "--port", "0")
    with_host = cli(sqlite_url, "serve", "--port", "0", env={"SMTP_HOST": "smtp.example.com"})
    assert without.exit_code == 0 and with_host.exit_code == 0, without.output
    assert "Warning: SMTP_HOST is not set" in without.stderr
    assert "SMTP_HOST" not in with_host.stderr
