"""No secret ever leaves through logs, HTTP responses or the database.

A representative flow runs with every logger at DEBUG (user and key creation,
validate, a real STARTTLS+AUTH send, a refused SMTP AUTH, an IMAP login with a
wrong password), then every log record, the JSON log output, every HTTP response
and every column of every table are searched for each secret.
"""

from __future__ import annotations

import base64
import io
import logging
import secrets

import httpx
import pytest

from sendwarden.storage import users
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.db_state import all_text
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness, AppFactory, create_tenant
from tests.support.smtp_server import PASSWORD, USERNAME, Faults, FaultyServer


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def secret_spellings(name: str, value: str) -> dict[str, str]:
    """The secret and the encodings it travels in (AUTH PLAIN/LOGIN use base64)."""
    return {
        name: value,
        f"{name} (base64)": base64.b64encode(value.encode()).decode(),
    }


class Evidence:
    """Everything an attacker might read: responses and log output."""

    def __init__(self) -> None:
        self.responses: list[str] = []
        self.json_log = io.StringIO()

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(f"{response.status_code} {response.headers!r} {response.text}")


def capture_logs(caplog: pytest.LogCaptureFixture, evidence: Evidence) -> None:
    """create_app replaced the root handlers: put caplog back and tee the JSON output."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(evidence.json_log)
    root.addHandler(caplog.handler)
    root.setLevel(logging.DEBUG)


@pytest.mark.imap
async def test_no_secret_in_logs_responses_or_database(
    api_factory: AppFactory,
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_key = "sk-" + secrets.token_urlsafe(24)
    imap_password = "imap-wrong-" + secrets.token_urlsafe(12)
    evidence = Evidence()
    caplog.set_level(logging.DEBUG)
    app: ApiHarness = await api_factory(
        sendwarden_log_level="DEBUG",
        sendwarden_secret_key=secret_key,
        sendwarden_public_url="https://sw.example",
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_user=USERNAME,
        smtp_pass=PASSWORD,
        smtp_ca_file=smtp.ca_file,
        imap_host="localhost",
        imap_port=dovecot_server.imap_port,
        imap_user=dovecot_server.username,
        imap_pass=imap_password,
        imap_ca_file=dovecot_server.ca_file,
    )
    capture_logs(caplog, evidence)
    app.client.event_hooks["response"].append(evidence.record)
    carol = await create_tenant(app.db, "carol")  # user and key created with logging on
    async with app.db.transaction() as session:
        carol_user = await users.get_user_by_name(session, "carol")
        assert carol_user is not None
        extra = await users.issue_key(session, carol_user, "ci")

    r = await app.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": "editor@blog.example", "subject": "Hi"},
        headers=carol.headers,
    )
    assert r.status_code == 200
    campaign = await make_campaign(app.client, carol.headers)
    lead = await make_lead(app.client, carol.headers, campaign, "editor@blog.example")
    assert (await send(app.client, carol.headers, campaign, lead)).status_code == 200
    assert smtp.wait_for(1)

    # A refused AUTH shows on a new connection only: start from an empty pool.
    assert app.state.pool is not None
    await app.state.pool.close()
    app.state._pipeline = None
    smtp.faults = Faults(reject_auth=True)
    second = await make_lead(app.client, carol.headers, campaign, "other@blog.example")
    refused = await send(app.client, carol.headers, campaign, second)
    assert refused.status_code == 500
    smtp.faults = Faults()

    poll = await app.client.post(f"{API}/replies/poll", headers=carol.headers)
    assert poll.status_code == 502, poll.text
    wrong_key = await app.client.get(
        f"{API}/campaigns", headers={"Authorization": f"Bearer {carol.key}x"}
    )
    assert wrong_key.status_code == 401

    secrets_to_find: dict[str, str] = {
        **secret_spellings("SMTP password", PASSWORD),
        "SMTP AUTH PLAIN": base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode(),
        **secret_spellings("IMAP password", imap_password),
        **secret_spellings("secret key", secret_key),
    }
    for label, key in [
        ("carol", carol.key),
        ("carol ci", extra.plaintext),
        ("alice", app.alice.key),
    ]:
        secrets_to_find[f"API key {label}"] = key
        secrets_to_find[f"API key {label} (secret part)"] = key.split("_", 2)[2]

    # Every logger of the process: the app, aiosqlite, imapclient, and the SMTP test server.
    ours = caplog.records
    sources = {
        "log records": "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in ours),
        "JSON log output": evidence.json_log.getvalue(),
        "HTTP responses": "\n".join(evidence.responses),
        "database (every column of every table)": await all_text(app.db),
    }
    assert len(ours) > 20 and evidence.json_log.getvalue().count("\n") > 20
    assert "auth" in sources["database (every column of every table)"].lower()  # AUTH failure noted
    found = [
        f"{label} in {where}"
        for where, text in sources.items()
        for label, value in secrets_to_find.items()
        if value in text
    ]
    assert not found, found
    sizes = ", ".join(f"{where}: {len(text)} chars" for where, text in sources.items())
    print(
        f"\nsecrets: {len(secrets_to_find)} secret spellings searched in {len(ours)} log records,"
        f" {len(evidence.responses)} responses ({sizes}); found 0"
    )
