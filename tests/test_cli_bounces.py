"""`sendwarden bounces list` / `sendwarden incidents list`, in-process on a SQLite database."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from sendwarden.inbound.model import BounceClass
from sendwarden.schemas.inbound import BounceOut, SenderIncidentOut
from sendwarden.services.inbound_effects import EventSource, RecipientEvent, handle
from sendwarden.storage import users
from sendwarden.storage.models import Attempt, AttemptStatus
from tests.test_cli import SENDER, assert_user_error, cli, new_key, run_db


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)


@pytest.fixture
def url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def alice(url: str) -> str:
    new_key(cli(url, "users", "create", "bob"))
    return new_key(cli(url, "users", "create", "alice"))


def record(url: str, user: str, recipient: str, bounce: BounceClass, status: str) -> None:
    """A sent attempt and one bounce event for it, through the one effects handler."""

    async def work(session: Any) -> None:
        owner = await users.get_user_by_name(session, user)
        assert owner is not None
        attempt = Attempt(
            user_id=owner.id,
            status=AttemptStatus.SENT.value,
            recipient_email=recipient,
            registrable_domain=recipient.split("@")[1],
            sender_email=SENDER,
            subject="Guest post",
            legal_basis="legitimate_interest",
            region="US",
            reason="",
            duplicate_key=f"k-{recipient}-{status}",
            message_id=f"<{recipient.split('@')[0]}.{status}@sender.example>",
        )
        session.add(attempt)
        await session.flush()
        await handle(
            session,
            RecipientEvent(
                source=EventSource.DSN,
                attempt=attempt,
                recipient=recipient,
                bounce=bounce,
                status=status,
                diagnostic=f"550 {status} diagnostic text",
            ),
        )

    run_db(url, work)


def listed(url: str, *args: str) -> dict[str, Any]:
    result = cli(url, *args, "--json", "--user", "alice")
    assert result.exit_code == 0, result.output
    page: dict[str, Any] = json.loads(result.stdout)
    return page


def test_bounces_list_shows_match_and_reason_and_filters(url: str, alice: str) -> None:
    record(url, "alice", "gone@a.example", BounceClass.HARD, "5.1.1")
    record(url, "alice", "full@b.example", BounceClass.SOFT, "4.2.2")
    record(url, "bob", "bobs@c.example", BounceClass.HARD, "5.1.1")
    page = listed(url, "bounces", "list")
    assert page["total"] == 2
    hard = next(i for i in page["items"] if i["classification"] == "hard")
    assert set(hard) == set(BounceOut.model_fields)
    assert hard["message_id"] == "<gone.5.1.1@sender.example>"
    assert "5.1.1" in hard["explanation"] and "suppressed" in hard["explanation"]
    assert [i["recipient"] for i in listed(url, "bounces", "list", "--kind", "soft")["items"]] == [
        "full@b.example"
    ]
    assert listed(url, "bounces", "list", "--status", "5.1")["total"] == 1
    assert listed(url, "bounces", "list", "--recipient", "b.example")["total"] == 1
    assert listed(url, "bounces", "list", "--since", "2999-01-01")["total"] == 0
    table = cli(url, "bounces", "list", "--user", "alice")
    assert table.exit_code == 0 and "gone@a.example" in table.stdout


def test_incidents_list_shows_sender_blocks_only_of_that_user(url: str, alice: str) -> None:
    record(url, "alice", "strict@d.example", BounceClass.SENDER_BLOCK, "5.7.1")
    record(url, "bob", "strict@e.example", BounceClass.SENDER_BLOCK, "5.7.1")
    page = listed(url, "incidents", "list")
    [item] = page["items"]
    assert set(item) == set(SenderIncidentOut.model_fields)
    assert (item["recipient"], item["status"], item["source"]) == (
        "strict@d.example",
        "5.7.1",
        "dsn",
    )
    assert "not suppressed" in item["explanation"]
    assert listed(url, "incidents", "list", "--recipient", "d.example")["total"] == 1
    assert listed(url, "bounces", "list")["total"] == 0


def test_bounces_list_rejects_a_bad_status_filter(url: str, alice: str) -> None:
    result = cli(url, "bounces", "list", "--status", "x.y", "--user", "alice")
    assert result.exit_code == 2


def test_bounces_list_unknown_user_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "bounces", "list", "--user", "mallory"), "mallory")


def test_suppress_list_shows_why_an_address_was_suppressed(url: str, alice: str) -> None:
    record(url, "alice", "gone@a.example", BounceClass.HARD, "5.1.1")
    [entry] = listed(url, "suppress", "list")["items"]
    assert entry["value"] == "gone@a.example"
    evidence = entry["evidence"]
    assert (evidence["status"], evidence["classification"], evidence["via"]) == (
        "5.1.1",
        "hard",
        "dsn",
    )
    assert evidence["message_id"] == "<gone.5.1.1@sender.example>"
