"""One JSON shape for every list, one timestamp format everywhere (issue 13 item 5)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from sendwarden.cli.main import app

runner = CliRunner()
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ENV = {"SMTP_FROM_EMAIL": "outreach@sender.example"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)


def run_json(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--database-url", url, *args, "--json"], env=ENV)
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


@pytest.fixture
def populated(sqlite_url: str) -> str:
    assert (
        runner.invoke(app, ["--database-url", sqlite_url, "users", "create", "alice"]).exit_code
        == 0
    )
    run_json(sqlite_url, "campaigns", "create", "Q4")
    run_json(
        sqlite_url,
        "leads",
        "add",
        "--campaign",
        "1",
        "--website",
        "https://example.com/",
        "--email",
        "ed@example.com",
    )
    run_json(sqlite_url, "suppress", "add", "no@example.com")
    run_json(sqlite_url, "validate", "no@example.com")
    return sqlite_url


LISTS = [
    ["users", "list"],
    ["keys", "list"],
    ["campaigns", "list"],
    ["leads", "list", "--campaign", "1"],
    ["replies", "list", "--campaign", "1"],
    ["suppress", "list"],
    ["audit", "list"],
    ["attempts", "list"],
]


@pytest.mark.parametrize("command", LISTS, ids=" ".join)
def test_every_list_returns_the_paged_object(populated: str, command: list[str]) -> None:
    page = run_json(populated, *command)
    assert isinstance(page, dict), page
    assert {"items", "total", "limit", "offset"} <= set(page)
    assert isinstance(page["items"], list) and page["total"] >= len(page["items"])


def timestamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [
            t
            for k, v in value.items()
            for t in (
                [v]
                if isinstance(v, str) and (k.endswith("_at") or k == "timestamp")
                else timestamps(v)
            )
        ]
    if isinstance(value, list):
        return [t for item in value for t in timestamps(item)]
    return []


@pytest.mark.parametrize("command", LISTS, ids=" ".join)
def test_timestamps_are_utc_with_z_as_in_the_api(populated: str, command: list[str]) -> None:
    found = timestamps(run_json(populated, *command))
    for stamp in found:
        assert ISO_Z.match(stamp), stamp


def test_users_and_keys_lists_carry_timestamps(populated: str) -> None:
    assert timestamps(run_json(populated, "users", "list"))
    assert timestamps(run_json(populated, "keys", "list"))


def test_users_list_pages(populated: str) -> None:
    runner.invoke(app, ["--database-url", populated, "users", "create", "bob"])
    page = run_json(populated, "users", "list", "--limit", "1", "--offset", "1")
    assert page["total"] == 2 and [u["name"] for u in page["items"]] == ["bob"]
