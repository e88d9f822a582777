"""`sendwarden campaigns|leads|replies ...`, in-process against a SQLite test database."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendwarden.devsmtp import CaptureServer
from sendwarden.inbound.model import ReplyClass
from sendwarden.schemas.campaigns import CampaignOut, LeadOut
from sendwarden.schemas.inbound import ReplyOut
from sendwarden.services.lead_csv import LEAD_COLUMNS, CsvRow, parse_lead_csv
from sendwarden.services.reply_effects import apply_reply_class
from sendwarden.storage import users
from sendwarden.storage.models import Attempt, AttemptStatus, Reply
from tests.test_cli import SENDER, assert_user_error, cli, new_key, run_db, send_args, smtp_env


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test passes: no settings leak in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)


@pytest.fixture
def url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def alice(url: str) -> str:
    return new_key(cli(url, "users", "create", "alice"))


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[CaptureServer]:
    with CaptureServer(tmp_path / "smtp", username="u", password="p4ss") as server:
        yield server


def ok_json(url: str, *args: str) -> Any:
    result = cli(url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def new_campaign(url: str, name: str = "Q4", *extra: str) -> int:
    campaign_id: int = ok_json(url, "campaigns", "create", name, *extra)["id"]
    return campaign_id


def lead_csv(tmp_path: Path, *lines: bytes) -> Path:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\n".join([b"website_url,contact_email,contact_name,consent,notes", *lines]))
    return path


# -- campaigns -----------------------------------------------------------------------


def test_campaigns_create_list_show_delete(url: str, alice: str) -> None:
    created = ok_json(url, "campaigns", "create", "Q4", "--description", "guest posts")
    assert set(created) == set(CampaignOut.model_fields)
    assert (created["name"], created["description"], created["lead_count"]) == (
        "Q4",
        "guest posts",
        0,
    )
    second = new_campaign(url, "Q1")
    cli(url, "leads", "add", "--campaign", str(created["id"]), "--website", "example.com")

    listed = ok_json(url, "campaigns", "list")
    assert [(c["id"], c["name"], c["lead_count"]) for c in listed["items"]] == [
        (created["id"], "Q4", 1),
        (second, "Q1", 0),
    ]
    assert (listed["total"], listed["limit"], listed["offset"]) == (2, 50, 0)
    assert "guest posts" in cli(url, "campaigns", "list").stdout

    shown = ok_json(url, "campaigns", "show", str(created["id"]))
    assert shown == {**created, "lead_count": 1}
    assert "guest posts" in cli(url, "campaigns", "show", str(created["id"])).stdout

    deleted = cli(url, "campaigns", "delete", str(created["id"]))
    assert deleted.exit_code == 0, deleted.output
    assert "1 lead" in deleted.stdout
    assert_user_error(cli(url, "campaigns", "show", str(created["id"])), "not found")
    assert [c["id"] for c in ok_json(url, "campaigns", "list")["items"]] == [second]


def test_campaigns_create_rejects_an_empty_name(url: str, alice: str) -> None:
    assert_user_error(cli(url, "campaigns", "create", ""), "name")


def test_another_users_campaign_is_not_found(url: str, alice: str) -> None:
    cli(url, "users", "create", "bob")
    bobs = new_campaign(url, "bob's", "--user", "bob")
    as_alice = ["--user", "alice"]
    missing = cli(url, "campaigns", "show", "999", *as_alice)
    assert_user_error(missing, "campaign 999 not found")
    for args in (
        ["campaigns", "show", str(bobs)],
        ["campaigns", "delete", str(bobs)],
        ["leads", "add", "--campaign", str(bobs), "--website", "example.com"],
        ["leads", "list", "--campaign", str(bobs)],
        ["replies", "list", "--campaign", str(bobs)],
    ):
        result = cli(url, *args, *as_alice)
        assert_user_error(result, f"campaign {bobs} not found")
    assert ok_json(url, "campaigns", "show", str(bobs), "--user", "bob")["lead_count"] == 0


# -- leads ---------------------------------------------------------------------------


def test_leads_add_duplicate_website_is_reported_as_existing(url: str, alice: str) -> None:
    campaign = str(new_campaign(url))
    first = ok_json(
        url,
        "leads",
        "add",
        "--campaign",
        campaign,
        "--website",
        "https://Example.com/blog",
        "--email",
        "Editor@EXAMPLE.com",
        "--name",
        "Ed",
        "--consent",
        "--notes",
        "met at a conference",
    )
    assert set(first) == set(LeadOut.model_fields)
    assert first["created"] is True and first["contact_email"] == "Editor@example.com"
    assert first["consent_recorded_at"] is not None and first["status"] == "discovered"

    again = ok_json(url, "leads", "add", "--campaign", campaign, "--website", "example.com/blog")
    assert again["created"] is False
    assert again["id"] == first["id"] and again["contact_email"] == "Editor@example.com"
    text = cli(url, "leads", "add", "--campaign", campaign, "--website", "example.com/blog")
    assert text.exit_code == 0 and "already exists" in text.stdout


def test_leads_add_invalid_email_is_one_line_error(url: str, alice: str) -> None:
    campaign = str(new_campaign(url))
    result = cli(
        url, "leads", "add", "--campaign", campaign, "--website", "a.example", "--email", "x@"
    )
    assert_user_error(result, "contact_email", "x@")
    assert ok_json(url, "leads", "list", "--campaign", campaign)["total"] == 0


def test_leads_add_invalid_website_is_one_line_error(url: str, alice: str) -> None:
    campaign = str(new_campaign(url))
    assert_user_error(
        cli(url, "leads", "add", "--campaign", campaign, "--website", "http://"), "website_url"
    )


def test_leads_import_keeps_good_rows_and_reports_bad_ones_by_line(
    url: str, alice: str, tmp_path: Path
) -> None:
    campaign = str(new_campaign(url))
    path = lead_csv(
        tmp_path,
        b"https://a.example/,a@a.example,Ann,yes,first",
        b"b.example,not-an-address,,,",
        b"\xff\xfec.example,c@c.example,,,",
        b"http://,d@d.example,,,",
        b'e.example,e@e.example,Eve,no,"two',
        b'lines"',
        b"",
        b"A.EXAMPLE,again@a.example,,,",
    )
    report = ok_json(url, "leads", "import", "--campaign", campaign, str(path))
    assert (report["added"], report["existing"]) == (2, 1)
    assert [(f["line"], f["value"]) for f in report["failed"]] == [
        (3, "b.example"),
        (4, ""),
        (5, "http://"),
    ]
    problems = [f["error"] for f in report["failed"]]
    assert "contact_email" in problems[0] and "UTF-8" in problems[1]
    assert "website_url" in problems[2]

    listed = ok_json(url, "leads", "list", "--campaign", campaign)["items"]
    assert [(lead["website_url"], lead["contact_email"]) for lead in listed] == [
        ("https://a.example/", "a@a.example"),
        ("https://e.example/", "e@e.example"),
    ]
    assert listed[0]["consent_recorded_at"] is not None
    assert listed[1]["consent_recorded_at"] is None

    table = cli(url, "leads", "import", "--campaign", campaign, str(path))
    assert table.exit_code == 0, table.output
    assert "Added 0, existing 3" in table.stdout and "failed 3" in table.stdout
    assert "UTF-8" in table.stdout


def test_leads_import_needs_the_header(url: str, alice: str, tmp_path: Path) -> None:
    campaign = str(new_campaign(url))
    headerless = tmp_path / "headerless.csv"
    headerless.write_bytes(b"a.example,a@a.example\n")
    assert_user_error(
        cli(url, "leads", "import", "--campaign", campaign, str(headerless)), "header"
    )
    typo = tmp_path / "typo.csv"
    typo.write_bytes(b"website_url,email\na.example,a@a.example\n")
    assert_user_error(cli(url, "leads", "import", "--campaign", campaign, str(typo)), "'email'")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n")
    assert_user_error(cli(url, "leads", "import", "--campaign", campaign, str(empty)), "empty")


def test_leads_import_into_another_users_campaign_is_not_found(
    url: str, alice: str, tmp_path: Path
) -> None:
    cli(url, "users", "create", "bob")
    bobs = str(new_campaign(url, "bob's", "--user", "bob"))
    path = lead_csv(tmp_path, b"a.example,a@a.example,,,")
    result = cli(url, "leads", "import", "--campaign", bobs, str(path), "--user", "alice")
    assert_user_error(result, f"campaign {bobs} not found")
    assert ok_json(url, "leads", "list", "--campaign", bobs, "--user", "bob")["total"] == 0


def test_leads_status_sets_the_state_and_list_filters_by_it(url: str, alice: str) -> None:
    campaign = str(new_campaign(url))
    ids = [
        ok_json(url, "leads", "add", "--campaign", campaign, "--website", site)["id"]
        for site in ("a.example", "b.example")
    ]
    updated = ok_json(url, "leads", "status", "--campaign", campaign, str(ids[1]), "placed")
    assert updated["status"] == "placed" and updated["id"] == ids[1]
    placed = ok_json(url, "leads", "list", "--campaign", campaign, "--status", "placed")
    assert [lead["id"] for lead in placed["items"]] == [ids[1]] and placed["total"] == 1
    table = cli(url, "leads", "list", "--campaign", campaign)
    assert "https://a.example/" in table.stdout and "placed" in table.stdout

    assert cli(url, "leads", "status", "--campaign", campaign, str(ids[0]), "won").exit_code == 2
    assert cli(url, "leads", "list", "--campaign", campaign, "--status", "won").exit_code == 2
    assert_user_error(
        cli(url, "leads", "status", "--campaign", campaign, "999", "placed"), "lead 999 not found"
    )


def test_leads_status_of_another_users_lead_is_not_found(url: str, alice: str) -> None:
    cli(url, "users", "create", "bob")
    bobs = str(new_campaign(url, "bob's", "--user", "bob"))
    lead = ok_json(
        url, "leads", "add", "--campaign", bobs, "--website", "a.example", "--user", "bob"
    )
    result = cli(
        url, "leads", "status", "--campaign", bobs, str(lead["id"]), "placed", "--user", "alice"
    )
    assert_user_error(result, "not found")
    listed = ok_json(url, "leads", "list", "--campaign", bobs, "--user", "bob")["items"]
    assert listed[0]["status"] == "discovered"


# -- CSV parsing -----------------------------------------------------------------------

cell_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cell_text, min_size=5, max_size=5), max_size=6))
def test_parse_lead_csv_reads_back_what_csv_writer_wrote(records: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(LEAD_COLUMNS)
    expected: list[CsvRow] = []
    for cells in records:
        line = len(buffer.getvalue().encode().splitlines()) + 1
        writer.writerow(cells)
        values = {k: v.strip() for k, v in zip(LEAD_COLUMNS, cells, strict=True) if v.strip()}
        if values:
            expected.append(CsvRow(line, values))
    assert parse_lead_csv(buffer.getvalue().encode()) == expected


def test_parse_lead_csv_reports_undecodable_lines_in_order() -> None:
    data = b"\xef\xbb\xbfWebsite_URL , notes\n\xff\na.example,x\n\xfe,\x80\nb.example,\n"
    assert parse_lead_csv(data) == [
        CsvRow(2, {}, "line is not valid UTF-8"),
        CsvRow(3, {"website_url": "a.example", "notes": "x"}),
        CsvRow(4, {}, "line is not valid UTF-8"),
        CsvRow(5, {"website_url": "b.example"}),
    ]


# -- replies ---------------------------------------------------------------------------


def add_reply(url: str, user: str, campaign: int, lead: int, recipient: str) -> int:
    """A sent attempt and a `not_interested` reply to it, with the suppression that caused."""

    async def work(session: Any) -> int:
        owner = await users.get_user_by_name(session, user)
        assert owner is not None
        attempt = Attempt(
            user_id=owner.id,
            campaign_id=campaign,
            lead_id=lead,
            status=AttemptStatus.SENT.value,
            recipient_email=recipient,
            registrable_domain=recipient.split("@")[1],
            sender_email=SENDER,
            subject="Guest post",
            legal_basis="legitimate_interest",
            region="US",
            reason="",
            duplicate_key=f"k-{recipient}",
        )
        session.add(attempt)
        await session.flush()
        reply = Reply(
            user_id=owner.id,
            attempt_id=attempt.id,
            campaign_id=campaign,
            lead_id=lead,
            from_address=recipient,
            subject="Re: Guest post",
            text="No thanks.",
            classification=ReplyClass.NOT_INTERESTED.value,
            auto_classification=ReplyClass.NOT_INTERESTED.value,
        )
        session.add(reply)
        await session.flush()
        await apply_reply_class(session, reply, attempt, ReplyClass.NOT_INTERESTED)
        return reply.id

    reply_id: int = run_db(url, work)
    return reply_id


def test_replies_list_and_reclassify_lifts_the_suppression(url: str, alice: str) -> None:
    campaign = new_campaign(url)
    lead = ok_json(
        url,
        "leads",
        "add",
        "--campaign",
        str(campaign),
        "--website",
        "example.com",
        "--email",
        "ed@example.com",
    )
    reply_id = add_reply(url, "alice", campaign, lead["id"], "ed@example.com")
    assert [s["value"] for s in ok_json(url, "suppress", "list")["items"]] == ["ed@example.com"]

    listed = ok_json(url, "replies", "list", "--campaign", str(campaign))
    assert listed["total"] == 1 and set(listed["items"][0]) == set(ReplyOut.model_fields)
    assert listed["items"][0]["classification"] == "not_interested"
    assert "Re: Guest post" in cli(url, "replies", "list", "--campaign", str(campaign)).stdout

    changed = ok_json(url, "replies", "reclassify", str(reply_id), "interested")
    assert changed["classification"] == "interested"
    assert changed["auto_classification"] == "not_interested"
    assert changed["reclassified_at"] is not None
    assert ok_json(url, "suppress", "list")["items"] == []
    [lead_now] = ok_json(url, "leads", "list", "--campaign", str(campaign))["items"]
    assert lead_now["status"] == "replied"
    events = [e["event"] for e in ok_json(url, "audit", "list")["items"]]
    assert "reply_reclassified" in events

    again = cli(url, "replies", "reclassify", str(reply_id), "interested")
    assert again.exit_code == 0 and "already interested" in again.stdout
    assert cli(url, "replies", "reclassify", str(reply_id), "spam").exit_code == 2


def test_reclassify_another_users_reply_is_not_found(url: str, alice: str) -> None:
    cli(url, "users", "create", "bob")
    bobs = new_campaign(url, "bob's", "--user", "bob")
    lead = ok_json(
        url, "leads", "add", "--campaign", str(bobs), "--website", "a.example", "--user", "bob"
    )
    reply_id = add_reply(url, "bob", bobs, lead["id"], "ed@example.com")
    result = cli(url, "replies", "reclassify", str(reply_id), "interested", "--user", "alice")
    assert_user_error(result, f"reply {reply_id} not found")
    [reply] = ok_json(url, "replies", "list", "--campaign", str(bobs), "--user", "bob")["items"]
    assert reply["classification"] == "not_interested"


# -- the whole flow through the command line only ------------------------------------------


def test_cli_only_flow_creates_campaign_and_lead_then_sends(url: str, smtp: CaptureServer) -> None:
    new_key(cli(url, "users", "create", "carol"))
    campaign = new_campaign(url, "Launch")
    lead = ok_json(
        url,
        "leads",
        "add",
        "--campaign",
        str(campaign),
        "--website",
        "https://blog.example.org/",
        "--email",
        "editor@example.org",
    )
    sent = cli(url, *send_args(campaign, lead["id"], "--body", "Hello"), env=smtp_env(smtp))
    assert sent.exit_code == 0, sent.output
    [message] = smtp.wait_for(1)
    assert message.rcpt_tos == ("editor@example.org",)
    attempts = ok_json(url, "attempts", "list", "--campaign", str(campaign))["items"]
    assert [(a["lead_id"], a["status"]) for a in attempts] == [(lead["id"], "sent")]
