"""The `sendwarden` command line (product.md §7-8), in-process against a SQLite test database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.main import get_command
from typer.testing import CliRunner, Result

from sendwarden.cli.main import app
from sendwarden.config import Settings
from sendwarden.devsmtp import CaptureServer
from sendwarden.storage import attempts as attempts_storage
from sendwarden.storage import campaigns, users
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, AttemptStatus, Lead
from tests.support import databases

runner = CliRunner()
SENDER = "outreach@sender.example"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test passes: no settings leak in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["--database-url", url, *args], env=env)


def new_key(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip("\n").splitlines()[-1]


def run_db(url: str, work: Any) -> Any:
    async def main() -> Any:
        db = Database(url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(main())


def sql(url: str, statement: str) -> None:
    async def work(session: Any) -> None:
        await session.execute(text(statement))

    run_db(url, work)


def authenticates(url: str, key: str) -> bool:
    async def work(session: Any) -> bool:
        return (await users.check_keys(session, [key]))[0] is not None

    return bool(run_db(url, work))


def assert_user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def alice(url: str) -> str:
    return new_key(cli(url, "users", "create", "alice"))


POLICY_ENV = {"SMTP_FROM_EMAIL": SENDER}


# -- init / migrate ------------------------------------------------------------


def test_init_creates_database_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "sw.db"
    db_url = f"sqlite:///{path}"
    first = cli(db_url, "init")
    second = cli(db_url, "init")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert str(path) in first.stdout and str(path) in second.stdout
    assert path.is_file()
    assert json.loads(cli(db_url, "users", "list", "--json").stdout)["items"] == []


def test_migrate_to_head_reports_the_database(url: str) -> None:
    result = cli(url, "migrate", "--revision", "head")
    assert result.exit_code == 0, result.output
    assert "head" in result.stdout


def test_migrate_to_unknown_revision_is_user_error(url: str) -> None:
    assert_user_error(cli(url, "migrate", "--revision", "nope"), "migration failed")


# -- users and keys ------------------------------------------------------------


def test_users_create_prints_key_as_last_line_and_key_authenticates(url: str) -> None:
    result = cli(url, "users", "create", "alice", "--admin")
    key = new_key(result)
    assert key.startswith("sw_")
    assert result.stdout.endswith(key + "\n")
    assert authenticates(url, key)
    listed = json.loads(cli(url, "users", "list", "--json").stdout)["items"]
    assert [(u["name"], u["is_admin"]) for u in listed] == [("alice", True)]


def test_users_create_duplicate_name_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "users", "create", "alice"), "already exists")


def test_keys_create_adds_a_working_key(url: str, alice: str) -> None:
    key = new_key(cli(url, "keys", "create", "alice", "--name", "ci"))
    assert key != alice
    assert authenticates(url, key) and authenticates(url, alice)


def test_keys_list_never_shows_keys_or_hashes(url: str, alice: str) -> None:
    second = new_key(cli(url, "keys", "create", "alice", "--name", "ci"))
    table = cli(url, "keys", "list")
    as_json = cli(url, "keys", "list", "--user", "alice", "--json")
    assert table.exit_code == 0 and as_json.exit_code == 0
    records = json.loads(as_json.stdout)["items"]
    assert [r["name"] for r in records] == ["default", "ci"]
    assert set(records[0]) == {
        "id",
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    for key in (alice, second):
        secret_part = key.split("_", 2)[2]
        hashed = users.hash_key(key)
        for output in (table.output, as_json.output):
            assert secret_part not in output and hashed not in output
    assert records[1]["prefix"] in second


def test_keys_list_unknown_user_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "keys", "list", "--user", "nobody"), "nobody")


def test_keys_revoke_stops_authentication(url: str, alice: str) -> None:
    key_id = json.loads(cli(url, "keys", "list", "--json").stdout)["items"][0]["id"]
    result = cli(url, "keys", "revoke", str(key_id))
    assert result.exit_code == 0, result.output
    assert not authenticates(url, alice)
    listed = json.loads(cli(url, "keys", "list", "--json").stdout)["items"][0]
    assert listed["revoked_at"] is not None
    assert_user_error(cli(url, "keys", "revoke", str(key_id)), f"id {key_id}")


# -- acting user -----------------------------------------------------------------


def test_single_user_is_used_without_user_option(url: str, alice: str) -> None:
    result = cli(url, "suppress", "add", "x@example.com")
    assert result.exit_code == 0, result.output


def test_several_users_need_user_option(url: str, alice: str) -> None:
    cli(url, "users", "create", "bob")
    assert_user_error(cli(url, "suppress", "list"), "--user")
    assert cli(url, "suppress", "list", "--user", "bob").exit_code == 0
    assert cli(url, "suppress", "list", env={"SENDWARDEN_USER": "bob"}).exit_code == 0


def test_unknown_user_is_one_line_error_without_traceback(url: str, alice: str) -> None:
    assert_user_error(cli(url, "audit", "list", "--user", "mallory"), "mallory")


def test_no_users_yet_is_user_error(url: str) -> None:
    assert_user_error(cli(url, "suppress", "list"), "users create")


def test_debug_shows_the_exception(url: str, alice: str) -> None:
    result = runner.invoke(app, ["--debug", "--database-url", url, "audit", "list", "--user", "x"])
    assert result.exit_code == 1
    assert result.exception is not None and "'x'" in str(result.exception)


# -- error paths -----------------------------------------------------------------


def test_unreachable_database_is_one_line_error(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    assert_user_error(cli(missing, "users", "list"), "cannot open the database")


def test_uninitialised_database_suggests_init(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert_user_error(cli(f"sqlite:///{empty}", "users", "list"), "sendwarden init")


def test_unreachable_postgres_hides_password(tmp_path: Path) -> None:
    result = cli("postgresql://sw:hunter2@127.0.0.1:1/sw", "users", "list")
    assert_user_error(result, "cannot")
    assert "hunter2" not in result.output


def test_invalid_configuration_is_user_error(url: str, alice: str) -> None:
    result = cli(url, "suppress", "list", env={"SENDWARDEN_USER_DAILY_CAP": "many"})
    assert_user_error(result, "SENDWARDEN_USER_DAILY_CAP")


# -- validate --------------------------------------------------------------------

ORIGINAL_FIELDS = {
    "allowed",
    "reason",
    "legal_basis",
    "daily_user_count",
    "daily_user_limit",
    "daily_domain_count",
    "daily_domain_limit",
    "region",
}


def test_validate_allowed_exits_0_with_original_fields(url: str, alice: str) -> None:
    result = cli(url, "validate", "Editor@Blog.Example.de", "--json", env=POLICY_ENV)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= ORIGINAL_FIELDS
    assert payload["allowed"] is True and payload["region"] == "EU"
    assert payload["legal_basis"] == "consent"
    assert payload["daily_user_limit"] == 100 and payload["daily_domain_limit"] == 20
    assert [c["name"] for c in payload["checks"]] == [
        "sender_alias",
        "suppression",
        "idempotency",
        "daily_user_cap",
        "daily_domain_cap",
        "legal_basis",
    ]


def test_validate_table_shows_fields_and_checks(url: str, alice: str) -> None:
    result = cli(url, "validate", "someone@example.com", env=POLICY_ENV)
    assert result.exit_code == 0, result.output
    for word in (*ORIGINAL_FIELDS, "daily_domain_cap", "ALLOWED"):
        assert word in result.stdout


def test_validate_blocked_exits_3(url: str, alice: str) -> None:
    cli(url, "suppress", "add", "example.com", "--reason", "competitor")
    result = cli(url, "validate", "a@mail.example.com", "--json", env=POLICY_ENV)
    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout)
    assert payload["allowed"] is False and "competitor" in payload["reason"]


def test_validate_is_recorded_in_the_audit_log(url: str, alice: str) -> None:
    cli(url, "validate", "a@example.com", "--subject", "Hi", env=POLICY_ENV)
    entries = json.loads(cli(url, "audit", "list", "--json").stdout)["items"]
    assert entries[0]["event"] == "policy_validate"
    assert entries[0]["lead_email"] == "a@example.com" and entries[0]["subject"] == "Hi"


def test_validate_invalid_recipient_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "validate", "not-an-address", env=POLICY_ENV), "recipient_email")


def test_validate_without_sender_configured_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "validate", "a@example.com"), "SMTP_FROM_EMAIL")


# -- suppression -----------------------------------------------------------------


def suppressed_values(url: str, *extra: str) -> list[str]:
    result = cli(url, "suppress", "list", "--json", "--limit", "1000", *extra)
    assert result.exit_code == 0, result.output
    return [item["value"] for item in json.loads(result.stdout)["items"]]


def test_suppress_add_list_remove(url: str, alice: str) -> None:
    added = cli(url, "suppress", "add", "Someone@Example.com", "--reason", "asked")
    assert added.exit_code == 0, added.output
    again = cli(url, "suppress", "add", "someone@example.com", "--json")
    assert json.loads(again.stdout)["created"] is False
    cli(url, "suppress", "add", "blocked.example.org")
    assert suppressed_values(url) == ["someone@example.com", "blocked.example.org"]
    assert suppressed_values(url, "--search", "SOME") == ["someone@example.com"]
    page = json.loads(
        cli(url, "suppress", "list", "--json", "--limit", "1", "--offset", "1").stdout
    )
    assert page["total"] == 2 and [i["value"] for i in page["items"]] == ["blocked.example.org"]
    assert "someone@example.com" in cli(url, "suppress", "list").stdout
    removed = cli(url, "suppress", "remove", "someone@example.com")
    assert removed.exit_code == 0, removed.output
    assert suppressed_values(url) == ["blocked.example.org"]
    assert_user_error(cli(url, "suppress", "remove", "someone@example.com"), "not on")


def test_suppress_invalid_target_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "suppress", "add", "not an address@"), "email")


def test_suppress_global_needs_admin(url: str, alice: str) -> None:
    assert_user_error(cli(url, "suppress", "add", "x.example", "--global"), "admin")
    cli(url, "users", "create", "root", "--admin")
    result = cli(url, "suppress", "add", "x.example", "--global", "--user", "root")
    assert result.exit_code == 0, result.output
    listed = json.loads(cli(url, "suppress", "list", "--json", "--user", "alice").stdout)
    assert [(i["value"], i["scope"]) for i in listed["items"]] == [("x.example", "global")]


def test_suppress_import_reports_bad_rows_with_line_numbers(
    url: str, alice: str, tmp_path: Path
) -> None:
    data = (
        b"email,reason\n"
        b"good@example.com,asked\n"
        b"\xff\xfebad@example.com,binary\n"
        b"not-an-address@,typo\n"
        b"example.net,whole domain\n"
        b"GOOD@example.com,again\n"
    )
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    result = cli(url, "suppress", "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 2 and report["duplicate"] == 1
    assert [row["line"] for row in report["invalid"]] == [3, 4]
    assert "UTF-8" in report["invalid"][0]["error"]
    assert suppressed_values(url) == ["good@example.com", "example.net"]
    table = cli(url, "suppress", "import", str(path))
    assert table.exit_code == 0
    assert "invalid 2" in table.stdout and "UTF-8" in table.stdout


def test_suppress_import_empty_file_is_user_error(url: str, alice: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n")
    assert_user_error(cli(url, "suppress", "import", str(path)), "empty")


def test_suppress_import_missing_file_is_usage_error(url: str, alice: str, tmp_path: Path) -> None:
    assert cli(url, "suppress", "import", str(tmp_path / "nope.csv")).exit_code == 2


def test_suppress_export_import_round_trip(url: str, alice: str, tmp_path: Path) -> None:
    for target in ("a@example.com", "b@example.org", "example.net"):
        cli(url, "suppress", "add", target, "--reason", f"r {target}")
    out = tmp_path / "export.csv"
    exported = cli(url, "suppress", "export", str(out))
    assert exported.exit_code == 0, exported.output
    stdout_copy = cli(url, "suppress", "export", "-").stdout
    assert stdout_copy.replace("\r\n", "\n") == out.read_text().replace("\r\n", "\n")
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["value"] for r in rows] == ["a@example.com", "b@example.org", "example.net"]

    (tmp_path / "other").mkdir()
    other = databases.fresh_sqlite(tmp_path / "other")
    cli(other, "users", "create", "bob")
    imported = json.loads(cli(other, "suppress", "import", str(out), "--json").stdout)
    assert imported == {"added": 3, "duplicate": 0, "invalid": []}
    assert suppressed_values(other) == suppressed_values(url)


# -- audit -----------------------------------------------------------------------


def make_audit_entries(url: str) -> None:
    for target in ("a@example.com", "b@example.com", "c@example.com"):
        assert cli(url, "suppress", "add", target).exit_code == 0


def test_audit_verify_ok_then_edited_entry_is_named(url: str, alice: str) -> None:
    make_audit_entries(url)
    ok = cli(url, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[0] == "OK: 3 entries verified"
    assert ok.stdout.splitlines()[-1].startswith("head: 3 ")
    sql(url, "UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 2")
    assert_user_error(cli(url, "audit", "verify"), "entry 2", "edited")


def test_audit_verify_detects_deleted_entry(url: str, alice: str) -> None:
    make_audit_entries(url)
    sql(url, "DELETE FROM audit_entries WHERE seq = 2")
    assert_user_error(cli(url, "audit", "verify"), "entry 2", "deleted")


def test_audit_verify_detects_deleted_last_entry(url: str, alice: str) -> None:
    make_audit_entries(url)
    sql(url, "DELETE FROM audit_entries WHERE seq = 3")
    assert_user_error(cli(url, "audit", "verify"), "entry 3")


def test_audit_list_filters(url: str, alice: str) -> None:
    cli(url, "suppress", "add", "example.org")
    cli(url, "validate", "x@example.com", env=POLICY_ENV)
    cli(url, "validate", "y@example.org", env=POLICY_ENV)

    def listed(*args: str) -> list[tuple[str, str | None]]:
        result = cli(url, "audit", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [(e["event"], e["lead_email"]) for e in json.loads(result.stdout)["items"]]

    assert len(listed()) == 3
    assert listed("--result", "blocked") == [("policy_validate", "y@example.org")]
    assert listed("--recipient", "X@example.com") == [("policy_validate", "x@example.com")]
    assert listed("--since", "2000-01-01", "--until", "2000-01-02") == []
    assert len(listed("--since", "2000-01-01T00:00:00Z")) == 3
    assert cli(url, "audit", "list", "--since", "yesterday").exit_code == 2
    assert cli(url, "audit", "list", "--result", "maybe").exit_code == 2


def test_audit_export_jsonl_and_csv_are_chronological(url: str, alice: str, tmp_path: Path) -> None:
    make_audit_entries(url)
    jsonl = tmp_path / "audit.jsonl"
    assert cli(url, "audit", "export", str(jsonl)).exit_code == 0
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[1]["prev_hash"] == records[0]["entry_hash"]
    assert records[0]["details"]["value"] == "a@example.com"
    as_csv = tmp_path / "audit.csv"
    assert cli(url, "audit", "export", str(as_csv), "--format", "csv").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3]
    assert json.loads(rows[2]["details"])["value"] == "c@example.com"


def test_audit_export_csv_cells_never_start_a_formula(url: str, alice: str, tmp_path: Path) -> None:
    assert cli(url, "suppress", "add", "=cmd@example.com", "--reason", "@SUM(A1)").exit_code == 0
    as_csv = tmp_path / "audit.csv"
    assert cli(url, "audit", "export", str(as_csv), "--format", "csv").exit_code == 0
    [row] = list(csv.DictReader(io.StringIO(as_csv.read_text())))
    assert (row["lead_email"], row["reason"]) == ("'=cmd@example.com", "'@SUM(A1)")
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in row.values()), row


def test_audit_export_pages_through_many_entries(
    url: str, alice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sendwarden.cli.audit.EXPORT_BATCH", 2)
    for i in range(5):
        cli(url, "suppress", "add", f"p{i}@example.com")
    result = cli(url, "audit", "export", "-")
    seqs = [json.loads(line)["seq"] for line in result.stdout.splitlines() if line.startswith("{")]
    assert seqs == [1, 2, 3, 4, 5]


# -- attempts and send -------------------------------------------------------------


def add_lead(url: str, user: str, email: str) -> tuple[int, int]:
    async def work(session: Any) -> tuple[int, int]:
        owner = await users.get_user_by_name(session, user)
        assert owner is not None
        campaign = await campaigns.create_campaign(
            session, user_id=owner.id, name="Q4", description=None
        )
        lead, _ = await campaigns.add_lead(
            session,
            Lead(
                campaign_id=campaign.id,
                user_id=owner.id,
                website_url=f"https://{email.split('@')[1]}/",
                website_key=email.split("@")[1],
                contact_email=email,
            ),
        )
        return campaign.id, lead.id

    result: tuple[int, int] = run_db(url, work)
    return result


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[CaptureServer]:
    with CaptureServer(tmp_path / "smtp", username="u", password="p4ss") as server:
        yield server


def smtp_env(server: CaptureServer, password: str = "p4ss") -> dict[str, str]:
    return {
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(server.port),
        "SMTP_USER": "u",
        "SMTP_PASS": password,
        "SMTP_CA_FILE": str(server.ca_file),
        "SMTP_FROM_EMAIL": SENDER,
        "SMTP_SEND_TIMEOUT": "5",
    }


def send_args(campaign: int, lead: int, *extra: str) -> list[str]:
    return ["send", "--campaign", str(campaign), "--lead", str(lead), "--subject", "Hi", *extra]


def test_send_delivers_and_exits_0(url: str, alice: str, smtp: CaptureServer) -> None:
    campaign, lead = add_lead(url, "alice", "editor@example.co.uk")
    result = cli(url, *send_args(campaign, lead, "--body", "Hello", "--json"), env=smtp_env(smtp))
    assert result.exit_code == 0, result.output
    attempt = json.loads(result.stdout)
    assert attempt["outcome"] == "sent" and attempt["status"] == "sent"
    assert attempt["region"] == "UK" and attempt["legal_basis"] == "consent"
    [message] = smtp.wait_for(1)
    assert message.rcpt_tos == ("editor@example.co.uk",)
    assert attempt["message_id"].encode() in message.raw


def test_send_reads_body_and_html_files(
    url: str, alice: str, smtp: CaptureServer, tmp_path: Path
) -> None:
    campaign, lead = add_lead(url, "alice", "editor@example.com")
    (tmp_path / "body.txt").write_text("Grüße aus der Datei\n", encoding="utf-8")
    (tmp_path / "body.html").write_text("<p>Hallo HTML</p>", encoding="utf-8")
    args = send_args(
        campaign,
        lead,
        "--body-file",
        str(tmp_path / "body.txt"),
        "--html-file",
        str(tmp_path / "body.html"),
    )
    result = cli(url, *args, env=smtp_env(smtp))
    assert result.exit_code == 0, result.output
    raw = smtp.wait_for(1)[0].raw
    assert b"text/html" in raw and b"text/plain" in raw


def test_send_blocked_exits_3_and_sends_nothing(url: str, alice: str, smtp: CaptureServer) -> None:
    campaign, lead = add_lead(url, "alice", "no@example.com")
    cli(url, "suppress", "add", "no@example.com")
    result = cli(url, *send_args(campaign, lead, "--body", "Hello"), env=smtp_env(smtp))
    assert result.exit_code == 3, result.output
    assert "blocked" in result.stdout and "suppress" in result.stdout
    assert smtp.messages == []


def test_send_smtp_failure_exits_1_without_server_text(
    url: str, alice: str, smtp: CaptureServer
) -> None:
    campaign, lead = add_lead(url, "alice", "editor@example.com")
    env = smtp_env(smtp, password="wrong")
    result = cli(url, *send_args(campaign, lead, "--body", "Hello"), env=env)
    assert_user_error(result, "SMTP delivery failed")
    assert "credentials" not in result.output.lower() and "wrong" not in result.output
    attempt = json.loads(cli(url, "attempts", "show", "1", "--json").stdout)
    assert attempt["status"] == "failed" and "smtp_error" not in attempt


def test_send_needs_exactly_one_body(url: str, alice: str, tmp_path: Path) -> None:
    body = tmp_path / "b.txt"
    body.write_text("x")
    assert cli(url, *send_args(1, 1)).exit_code == 2
    assert cli(url, *send_args(1, 1, "--body", "x", "--body-file", str(body))).exit_code == 2


def test_send_without_smtp_settings_is_user_error(url: str, alice: str) -> None:
    result = cli(url, *send_args(1, 1, "--body", "x"), env={"SMTP_FROM_EMAIL": SENDER})
    assert_user_error(result, "SMTP_HOST")


def test_send_unknown_lead_is_user_error(url: str, alice: str, smtp: CaptureServer) -> None:
    assert_user_error(cli(url, *send_args(1, 99, "--body", "x"), env=smtp_env(smtp)), "not found")


def test_attempts_list_and_show(url: str, alice: str, smtp: CaptureServer) -> None:
    campaign, lead = add_lead(url, "alice", "no@example.com")
    cli(url, "suppress", "add", "no@example.com")
    cli(url, *send_args(campaign, lead, "--body", "Hello"), env=smtp_env(smtp))
    listed = json.loads(cli(url, "attempts", "list", "--campaign", str(campaign), "--json").stdout)
    assert [a["status"] for a in listed["items"]] == ["blocked"] and listed["total"] == 1
    blocked = json.loads(cli(url, "attempts", "list", "--status", "blocked", "--json").stdout)
    assert blocked["items"] == listed["items"]
    shown = cli(url, "attempts", "show", str(listed["items"][0]["id"]))
    assert shown.exit_code == 0 and "suppression" in shown.stdout
    assert_user_error(cli(url, "attempts", "show", "999"), "not found")
    everything = json.loads(cli(url, "attempts", "list", "--json").stdout)
    assert everything["items"] == listed["items"]  # no filter: all of the user's attempts


# -- serve and poll ----------------------------------------------------------------


async def interrupted_attempt(session: Any, user: str, *, owner: str) -> None:
    """An attempt a crash left `sending` on host `owner`."""
    found = await users.get_user_by_name(session, user)
    assert found is not None
    session.add(
        Attempt(
            user_id=found.id,
            status=AttemptStatus.SENDING.value,
            recipient_email="a@example.com",
            registrable_domain="example.com",
            sender_email=SENDER,
            subject="s",
            legal_basis="legitimate_interest",
            region="US",
            reason="",
            duplicate_key="k",
            owner=owner,
        )
    )


def test_serve_recovers_once_then_runs_uvicorn_workers(
    url: str, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # serve hands settings to its workers through os.environ: have monkeypatch restore it.
    for name in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "SENDWARDEN_RECOVER_ON_START"):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    monkeypatch.setenv("SENDWARDEN_INSTANCE_NAME", "host-a")
    monkeypatch.setenv("SENDWARDEN_KEEP_ALIVE", "75")

    run_db(url, lambda session: interrupted_attempt(session, "alice", owner="host-a"))
    seen: dict[str, Any] = {}

    def fake_run(target: str, **kwargs: Any) -> None:
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        seen.update(kwargs, target=target, metrics_dir=metrics_dir)
        seen["metrics_dir_existed"] = Path(metrics_dir).is_dir()
        seen["recover"] = os.environ["SENDWARDEN_RECOVER_ON_START"]
        seen["worker_settings"] = Settings().database_url

    monkeypatch.setattr("sendwarden.cli.serve.uvicorn.run", fake_run)
    result = cli(url, "serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "3")
    assert result.exit_code == 0, result.output
    assert "1 interrupted" in result.stderr
    assert seen["target"] == "sendwarden.api.app:create_app" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("0.0.0.0", 8123, 3)
    assert seen["timeout_keep_alive"] == 75
    assert seen["recover"] == "false" and seen["metrics_dir_existed"]
    assert seen["worker_settings"] == Settings(database_url=url).database_url
    assert not Path(seen["metrics_dir"]).exists()
    unknown = json.loads(cli(url, "attempts", "list", "--status", "unknown", "--json").stdout)
    assert unknown["total"] == 1


def test_attempts_resolve_settles_unknown_attempts(
    url: str, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_db(url, lambda session: interrupted_attempt(session, "alice", owner="h"))
    monkeypatch.setenv("SENDWARDEN_INSTANCE_NAME", "h")

    async def recover(session: Any) -> None:
        await attempts_storage.mark_interrupted_as_unknown(session, owner="h")

    run_db(url, recover)
    result = cli(url, "attempts", "resolve", "1", "--outcome", "failed", "--note", "not in logs")
    assert result.exit_code == 0, result.output
    shown = json.loads(cli(url, "attempts", "show", "1", "--json").stdout)
    assert shown["status"] == "failed" and "not in logs" in shown["reason"]
    assert_user_error(cli(url, "attempts", "resolve", "1", "--outcome", "sent"), "only unknown")
    assert cli(url, "attempts", "resolve", "1", "--outcome", "maybe").exit_code == 2
    events = [e["event"] for e in json.loads(cli(url, "audit", "list", "--json").stdout)["items"]]
    assert events[0] == "attempt_resolved"


@dataclass
class FakePollResult:
    fetched: int
    suppressed: int


def test_poll_prints_the_result_fields(
    url: str, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Settings, Database]] = []

    async def poll_once(settings: Settings, db: Database) -> FakePollResult:
        calls.append((settings, db))
        return FakePollResult(fetched=4, suppressed=1)

    module = types.ModuleType("sendwarden.services.polling")
    module.poll_once = poll_once  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sendwarden.services.polling", module)
    result = cli(url, "poll", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"fetched": 4, "suppressed": 1}
    assert "suppressed" in cli(url, "poll").stdout
    assert calls[0][1].url == calls[0][0].database_url


# -- help ---------------------------------------------------------------------------


def all_commands() -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    walk([], get_command(app))
    return found


def test_every_command_is_found() -> None:
    names = {" ".join(path) for path, _ in all_commands()}
    assert {
        "init",
        "migrate",
        "users create",
        "users list",
        "keys create",
        "keys list",
        "keys revoke",
        "validate",
        "send",
        "suppress add",
        "suppress list",
        "suppress remove",
        "suppress import",
        "suppress export",
        "audit list",
        "audit verify",
        "audit export",
        "attempts list",
        "attempts show",
        "attempts resolve",
        "poll",
        "serve",
        "doctor",
        "demo",
        "dev-smtp",
        "bounces list",
        "incidents list",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=" ".join)
def test_help_is_complete(path: list[str]) -> None:
    command = dict((tuple(p), c) for p, c in all_commands())[tuple(path)]
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert command.help, f"{path} has no docstring"
    for param in command.params:
        for opt in param.opts if param.param_type_name == "option" else []:
            assert opt in result.stdout, f"{opt} missing from help of {path}"


def test_poll_without_imap_settings_is_user_error(url: str, alice: str) -> None:
    assert_user_error(cli(url, "poll"), "IMAP")
