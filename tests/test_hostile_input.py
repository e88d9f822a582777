"""Hostile input: every case gets a clear 4xx naming the field, or a correct normalised
result; a rejected request leaves the whole database (rows, audit chain head) unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sendwarden.storage.models import Campaign, Lead, Suppression
from tests.support import databases
from tests.support.api_helpers import API, make_campaign, make_lead
from tests.support.db_state import snapshot
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness, open_harness


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Validation happens before storage: SQLite only, except where noted."""
    return sqlite_url


@dataclass
class Seeded:
    campaign: int
    lead: int


@pytest.fixture
async def seeded(api: ApiHarness) -> Seeded:
    campaign = await make_campaign(api.client, api.alice.headers)
    lead = await make_lead(api.client, api.alice.headers, campaign, "editor@blog.example")
    return Seeded(campaign, lead)


async def rejected(
    api: ApiHarness, method: str, url: str, field: str, **kwargs: Any
) -> httpx.Response:
    """Send a request that must fail with a 4xx naming `field` and change nothing."""
    before = await snapshot(api.db)
    kwargs.setdefault("headers", api.alice.headers)
    r = await api.client.request(method, url, **kwargs)
    assert 400 <= r.status_code < 500, f"{method} {url} [{field}]: {r.status_code} {r.text[:300]}"
    body = r.json()
    named = [e.get("field", "") for e in body.get("errors", [])]
    assert any(n == field or n.endswith(f".{field}") for n in named) or field in str(
        body["detail"]
    ), f"{field} not named in {body}"
    changed = before.differences(await snapshot(api.db))
    assert not changed, f"{method} {url} [{field}] changed {changed}"
    return r


# --- header injection -------------------------------------------------------------

# CR, LF, NUL, and the other characters Python's email package treats as line breaks.
BREAKS = ["\r", "\n", "\r\nBcc: victim@example.com", "\x00", "\u2028", "\u2029", "\x85", "\x0b"]

BodyFor = Callable[[Seeded, str], dict[str, Any]]
HEADER_FIELDS: dict[str, tuple[str, Callable[[Seeded], str], BodyFor]] = {
    # field label: (method, url, body with the hostile value v)
    "recipient_email": (
        "POST",
        lambda s: f"{API}/policy/validate",
        lambda s, v: {"recipient_email": f"ed{v}itor@example.com"},
    ),
    "sender_email": (
        "POST",
        lambda s: f"{API}/policy/validate",
        lambda s, v: {"recipient_email": "a@example.com", "sender_email": f"me{v}@sender.example"},
    ),
    "subject": (
        "POST",
        lambda s: f"{API}/policy/validate",
        lambda s, v: {"recipient_email": "a@example.com", "subject": f"Hi{v}there"},
    ),
    "send.subject": (
        "POST",
        lambda s: f"{API}/outreach/send",
        lambda s, v: {
            "campaign_id": s.campaign,
            "lead_id": s.lead,
            "subject": f"Hi{v}",
            "body": "x",
        },
    ),
    "send.sender_email": (
        "POST",
        lambda s: f"{API}/outreach/send",
        lambda s, v: {
            "campaign_id": s.campaign,
            "lead_id": s.lead,
            "subject": "Hi",
            "body": "x",
            "sender_email": f"me@sender.example{v}",
        },
    ),
    "name": ("POST", lambda s: f"{API}/campaigns", lambda s, v: {"name": f"Q4{v}"}),
    "contact_email": (
        "POST",
        lambda s: f"{API}/campaigns/{s.campaign}/leads",
        lambda s, v: {"website_url": "https://new.example/", "contact_email": f"a{v}@new.example"},
    ),
    "contact_name": (
        "POST",
        lambda s: f"{API}/campaigns/{s.campaign}/leads",
        lambda s, v: {"website_url": "https://new.example/", "contact_name": f"Ann{v}Lee"},
    ),
    "email": ("POST", lambda s: f"{API}/suppression", lambda s, v: {"email": f"x@y.example{v}"}),
    "domain": ("POST", lambda s: f"{API}/suppression", lambda s, v: {"domain": f"y{v}.example"}),
}


@pytest.mark.parametrize("label", list(HEADER_FIELDS))
async def test_line_breaks_and_nul_in_header_bound_fields_are_422(
    api: ApiHarness, seeded: Seeded, label: str
) -> None:
    method, url, body = HEADER_FIELDS[label]
    field = label.rsplit(".", 1)[-1]
    for hostile in BREAKS:
        await rejected(api, method, url(seeded), field, json=body(seeded, hostile))
    print(f"\n{label}: {len(BREAKS)} hostile values rejected, database unchanged")


async def test_line_breaks_in_path_and_website_are_422(api: ApiHarness, seeded: Seeded) -> None:
    for hostile in ["%0D%0A", "%00", "%0A"]:
        await rejected(api, "DELETE", f"{API}/suppression/a{hostile}@x.example", "email")
    for website in [
        *(f"https://ok.example/{hostile}x" for hostile in ["\r\n", "\x00", "\t", " "]),
        "https://ok.example:99999/",
        "https://ok.example:port/",
        "https://[::1/",
        "javascript:alert(1)//x.example",
    ]:
        await rejected(
            api,
            "POST",
            f"{API}/campaigns/{seeded.campaign}/leads",
            "website_url",
            json={"website_url": website},
        )


# --- sizes --------------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize("path", ["/policy/validate", "/outreach/send", "/campaigns"])
async def test_ten_megabyte_json_body_is_413(api: ApiHarness, path: str) -> None:
    before = await snapshot(api.db)
    body = b'{"subject": "' + b"x" * TEN_MB + b'"}'
    r = await api.client.post(
        f"{API}{path}",
        content=body,
        headers={**api.alice.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: checked while streaming
        for _ in range(10):
            yield b"x" * (TEN_MB // 10)

    r = await api.client.post(f"{API}{path}", content=chunks(), headers=api.alice.headers)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert not before.differences(await snapshot(api.db))


async def test_ten_megabyte_csv_import_reports_the_bad_line(api: ApiHarness) -> None:
    """Imports may be large (20 MB); a 10 MB line of junk is reported, not stored."""
    csv = b"email\nok@fine.example\n" + b"junk" * (TEN_MB // 4) + b"\n"
    r = await api.client.post(f"{API}/suppression/import", content=csv, headers=api.alice.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["added"] == 1
    [bad] = report["invalid"]
    assert bad["line"] == 3 and len(bad["value"]) <= 80
    assert len(r.content) < 2000  # the junk is not echoed back


async def test_csv_import_over_twenty_megabytes_streams_with_bounded_lines(
    api: ApiHarness,
) -> None:
    """The import has no body cap: it streams; overlong lines are reported, not buffered."""

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length
        yield b"email\nfirst@fine.example\n"
        for _ in range(3):  # three 8 MB lines of junk: 24 MB in all
            for _ in range(8):
                yield b"j" * (1024 * 1024)
            yield b"\n"
        yield b"last@fine.example"  # no final newline

    r = await api.client.post(
        f"{API}/suppression/import", content=chunks(), headers=api.alice.headers
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["added"] == 2 and report["duplicate"] == 0
    assert [(row["line"], "longer than" in row["error"]) for row in report["invalid"]] == [
        (3, True),
        (4, True),
        (5, True),
    ]
    assert all(len(row["value"]) <= 80 for row in report["invalid"])


HUNDRED_K = "x" * 100_000


async def test_hundred_thousand_character_strings_are_422_naming_the_field(
    api: ApiHarness, seeded: Seeded
) -> None:
    send_base = {
        "campaign_id": seeded.campaign,
        "lead_id": seeded.lead,
        "subject": "s",
        "body": "b",
    }
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "subject",
            "POST",
            "/policy/validate",
            {"recipient_email": "a@b.example", "subject": HUNDRED_K},
        ),
        ("subject", "POST", "/outreach/send", {**send_base, "subject": HUNDRED_K}),
        ("body", "POST", "/outreach/send", {**send_base, "body": "y" * 300_000}),
        ("name", "POST", "/campaigns", {"name": HUNDRED_K}),
        ("description", "POST", "/campaigns", {"name": "n", "description": HUNDRED_K}),
        (
            "recipient_email",
            "POST",
            "/policy/validate",
            {"recipient_email": HUNDRED_K + "@b.example"},
        ),
        ("reason", "POST", "/suppression", {"email": "a@b.example", "reason": HUNDRED_K}),
        (
            "notes",
            "POST",
            f"/campaigns/{seeded.campaign}/leads",
            {"website_url": "https://n.example", "notes": HUNDRED_K},
        ),
        (
            "website_url",
            "POST",
            f"/campaigns/{seeded.campaign}/leads",
            {"website_url": "https://n.example/" + HUNDRED_K},
        ),
        ("note", "POST", "/attempts/1/resolve", {"outcome": "failed", "note": HUNDRED_K}),
    ]
    for field, method, path, body in cases:
        r = await rejected(api, method, f"{API}{path}", field, json=body)
        assert HUNDRED_K not in r.text  # the input is not echoed back
    long_query = HUNDRED_K[:20_000]  # the longest query string httpx will send
    await rejected(api, "GET", f"{API}/suppression", "q", params={"q": long_query})
    await rejected(api, "GET", f"{API}/audit-logs", "recipient", params={"recipient": long_query})
    print(f"\n100k-character strings: {len(cases) + 2} fields rejected, database unchanged")


# --- addresses ----------------------------------------------------------------------

# raw address -> normalised form the API must answer with, or None: a clear 422.
ADDRESSES: dict[str, str | None] = {
    "USER@EXAMPLE.COM": "USER@example.com",  # local part case kept, domain lower-cased
    "user+tag@example.com": "user+tag@example.com",
    "  spaced@example.com  ": "spaced@example.com",
    "user@example.com.": "user@example.com",  # fully qualified trailing dot
    "user@bücher.de": "user@xn--bcher-kva.de",  # IDN to A-label
    "user@BÜCHER.de": "user@xn--bcher-kva.de",
    "user@xn--bcher-kva.de": "user@xn--bcher-kva.de",
    "用户@example.com": "用户@example.com",  # SMTPUTF8 local part
    "Pelé@example.com": "Pelé@example.com",
    "user.@example.com": None,  # trailing dot in the local part
    "user@example..com": None,
    '"john doe"@example.com': None,  # quoted local part
    '"a\\"b"@example.com': None,
    "john(comment)@example.com": None,  # RFC 5322 comment
    "John Doe <john@example.com>": None,  # a display name is not an address
    "a@b@example.com": None,
    "user@[127.0.0.1]": None,
    "user@localhost": None,
    "user@-example.com": None,
    "user": None,
    "": None,
}


@pytest.mark.parametrize("raw", list(ADDRESSES))
async def test_address_is_normalised_or_rejected_clearly(api: ApiHarness, raw: str) -> None:
    expected = ADDRESSES[raw]
    url = f"{API}/policy/validate"
    if expected is None:
        await rejected(api, "POST", url, "recipient_email", json={"recipient_email": raw})
        return
    r = await api.client.post(url, json={"recipient_email": raw}, headers=api.alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["recipient_email"] == expected


async def test_suppression_matches_every_spelling_of_an_address(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/suppression", json={"email": "  Müller@Bücher.DE. "}, headers=api.alice.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "müller@xn--bcher-kva.de"
    for spelling in ["müller@bücher.de", "MÜLLER@XN--BCHER-KVA.DE", "Müller@bücher.de."]:
        r = await api.client.post(
            f"{API}/policy/validate", json={"recipient_email": spelling}, headers=api.alice.headers
        )
        assert r.json()["allowed"] is False, spelling
    # A +tag sub-address reaches the same person: the suppression covers it (issue 10.7).
    r = await api.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": "müller+news@bücher.de"},
        headers=api.alice.headers,
    )
    assert r.json()["allowed"] is False


# --- CSV imports ----------------------------------------------------------------------


async def test_csv_import_with_invalid_utf8_reports_lines_and_keeps_good_rows(
    api: ApiHarness,
) -> None:
    csv = (
        "\ufeffemail,reason\n".encode()
        + b"good@one.example,fine\n"
        + b"bad\xff\xfe@two.example,broken bytes\n"
        + "müller@three.example,latin-1 file\n".encode("latin-1")
        + b"good@four.example,\xc3\n"  # truncated UTF-8 sequence in the reason
        + "Über@Five.Example,ok\n".encode()
        + b"a\x00b@six.example,nul\n"
    )
    r = await api.client.post(f"{API}/suppression/import", content=csv, headers=api.alice.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["added"] == 2
    invalid = {row["line"]: row["error"] for row in report["invalid"]}
    assert set(invalid) == {3, 4, 5, 7}
    assert all("UTF-8" in invalid[n] for n in (3, 4, 5))
    async with api.db.transaction() as session:
        values = set((await session.scalars(select(Suppression.value))).all())
    assert values == {"good@one.example", "über@five.example"}


async def test_csv_import_that_is_not_text_at_all_changes_nothing(api: ApiHarness) -> None:
    before = await snapshot(api.db)
    junk = bytes(range(128, 256)) * 100
    r = await api.client.post(f"{API}/suppression/import", content=junk, headers=api.alice.headers)
    assert r.status_code == 200 and r.json()["added"] == 0 and r.json()["invalid"]
    assert not before.differences(await snapshot(api.db))
    await rejected(api, "POST", f"{API}/suppression/import", "body", content=b" \n\t\n")


# --- SQL meta-characters --------------------------------------------------------------

SQL_PAYLOADS = [
    "'; DROP TABLE users; --",
    '" OR "1"="1',
    "x' OR '1'='1' /*",
    "'); DELETE FROM suppressions; --",
    "%",
    "_",
    "\\",
    "\\'; SELECT pg_sleep(5); --",
    "$$; DROP TABLE campaigns; $$",
]


async def test_sql_metacharacters_are_stored_verbatim_in_every_string_field(
    api: ApiHarness,
) -> None:
    for n, payload in enumerate(SQL_PAYLOADS):
        r = await api.client.post(
            f"{API}/campaigns",
            json={"name": f"c{n} {payload}", "description": payload},
            headers=api.alice.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["name"] == f"c{n} {payload}" and r.json()["description"] == payload
        campaign = r.json()["id"]
        r = await api.client.post(
            f"{API}/campaigns/{campaign}/leads",
            json={
                "website_url": f"https://site{n}.example/?q=1'%20OR%201=1--",
                "contact_name": payload,
                "notes": payload,
                "contact_email": f"lead{n}@site{n}.example",
            },
            headers=api.alice.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["contact_name"] == payload
        r = await api.client.post(
            f"{API}/suppression",
            json={"email": f"s{n}@sql.example", "reason": payload},
            headers=api.alice.headers,
        )
        assert r.status_code == 201 and r.json()["reason"] == payload
        r = await api.client.post(
            f"{API}/policy/validate",
            json={"recipient_email": f"v{n}@sql.example", "subject": payload},
            headers=api.alice.headers,
        )
        assert r.status_code == 200, r.text
    async with api.db.transaction() as session:
        assert len((await session.scalars(select(Campaign))).all()) == len(SQL_PAYLOADS)
        assert len((await session.scalars(select(Lead))).all()) == len(SQL_PAYLOADS)
        assert len((await session.scalars(select(Suppression))).all()) == len(SQL_PAYLOADS)
    audit = await api.client.get(
        f"{API}/audit-logs", params={"event": "policy_validate"}, headers=api.alice.headers
    )
    assert {e["subject"] for e in audit.json()["items"]} == set(SQL_PAYLOADS)


async def test_sql_metacharacters_in_filters_match_literally(api: ApiHarness) -> None:
    for email, reason in [
        ("plain@one.example", "no wildcard here"),
        ("pct%x@two.example", "100% sure"),
        ("under_x@three.example", "snake_case"),
        ("slash@four.example", "back\\slash"),
    ]:
        r = await api.client.post(
            f"{API}/suppression", json={"email": email, "reason": reason}, headers=api.alice.headers
        )
        assert r.status_code == 201
    # The search is a prefix of the address or domain, with wildcards taken literally.
    expected = {
        "%": [],
        "_": [],
        "\\": [],
        "pct%": ["pct%x@two.example"],
        "p%x": [],
        "under_": ["under_x@three.example"],
        "u_der": [],
        "' OR '1'='1": [],
        "%' OR 1=1 --": [],
    }
    for query, values in expected.items():
        r = await api.client.get(
            f"{API}/suppression", params={"q": query}, headers=api.alice.headers
        )
        assert r.status_code == 200, r.text
        assert [i["value"] for i in r.json()["items"]] == values, query
    for recipient in ["' OR '1'='1", "%", "*"]:
        r = await api.client.get(
            f"{API}/audit-logs", params={"recipient": recipient}, headers=api.alice.headers
        )
        assert r.status_code == 200 and r.json()["total"] == 0, recipient
    r = await api.client.delete(f"{API}/suppression/%25@two.example", headers=api.alice.headers)
    assert r.status_code in (404, 422)
    assert (await api.client.get(f"{API}/suppression", headers=api.alice.headers)).json()[
        "total"
    ] == 4


# --- NUL in free text (PostgreSQL refuses NUL in text columns) --------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return databases.fresh_sqlite(tmp_path)
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def any_db(any_db_url: str) -> AsyncIterator[ApiHarness]:
    async with open_harness(any_db_url) as harness:
        yield harness


async def test_nul_in_any_free_text_field_is_422_on_every_database(any_db: ApiHarness) -> None:
    api = any_db
    campaign = await make_campaign(api.client, api.alice.headers)
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("description", "POST", "/campaigns", {"json": {"name": "n", "description": "a\x00b"}}),
        (
            "notes",
            "POST",
            f"/campaigns/{campaign}/leads",
            {"json": {"website_url": "https://n.example", "notes": "a\x00b"}},
        ),
        ("reason", "POST", "/suppression", {"json": {"email": "a@b.example", "reason": "a\x00b"}}),
        ("note", "POST", "/attempts/1/resolve", {"json": {"outcome": "failed", "note": "a\x00b"}}),
        ("q", "GET", "/suppression", {"params": {"q": "a\x00b"}}),
        ("recipient", "GET", "/audit-logs", {"params": {"recipient": "a\x00b@c.example"}}),
    ]
    for field, method, path, kwargs in cases:
        await rejected(api, method, f"{API}{path}", field, **kwargs)
    print(f"\nNUL in free text: {len(cases)} fields rejected with 422 on {api.db.dialect}")


# --- IMAP-special characters in poll parameters -----------------------------------------

IMAP_SPECIALS = ['"', "\\", "{5}", "(", ")", "*", "%", "]", " ", "\u00e9"]


async def test_poll_with_hostile_imap_folder_setting_fails_clearly(tmp_path: Path) -> None:
    imap = {"imap_host": "127.0.0.1", "imap_port": 1, "imap_user": "u", "imap_pass": "p"}
    for n, hostile in enumerate(["\r\n", "\n", "\x00"]):
        directory = tmp_path / f"db{n}"
        directory.mkdir()
        url = databases.fresh_sqlite(directory)
        async with open_harness(url, imap_folder=f"INBOX{hostile}A1 DELETE INBOX", **imap) as api:
            before = await snapshot(api.db)
            r = await api.client.post(f"{API}/replies/poll", headers=api.alice.headers)
            assert r.status_code == 503, r.text
            assert "IMAP_FOLDER" in r.json()["detail"]
            assert not before.differences(await snapshot(api.db))


async def test_poll_ignores_hostile_query_parameters(api: ApiHarness) -> None:
    for hostile in IMAP_SPECIALS + ["INBOX\r\nA1 DELETE INBOX", "' OR 1=1"]:
        r = await api.client.post(
            f"{API}/replies/poll",
            params={"folder": hostile, "mailbox": hostile, "since": hostile},
            headers=api.alice.headers,
        )
        assert r.status_code == 503 and "not configured" in r.json()["detail"], r.text


@pytest.mark.imap
async def test_poll_reads_a_folder_named_with_imap_special_characters(
    dovecot_server: DovecotServer, tmp_path: Path
) -> None:
    folder = "Odd " + "".join(c for c in IMAP_SPECIALS if c not in "*%") + " box"
    dovecot_server.create_folder(folder)
    message = (
        b"From: someone@else.example\r\nTo: replies@example.com\r\n"
        b"Subject: hello\r\nMessage-ID: <odd-folder-1@else.example>\r\n\r\nHi there\r\n"
    )
    dovecot_server.append(message, folder)
    settings: dict[str, Any] = {
        "imap_host": "localhost",
        "imap_port": dovecot_server.imap_port,
        "imap_user": dovecot_server.username,
        "imap_pass": dovecot_server.password,
        "imap_ca_file": dovecot_server.ca_file,
        "imap_folder": folder,
    }
    async with open_harness(databases.fresh_sqlite(tmp_path), **settings) as api:
        r = await api.client.post(f"{API}/replies/poll", headers=api.alice.headers)
        assert r.status_code == 200, r.text
        assert r.json()["fetched"] == 1
        r = await api.client.post(f"{API}/replies/poll", headers=api.alice.headers)
        assert r.json()["fetched"] == 0  # the cursor of that exact folder advanced


def test_every_hostile_corpus_entry_is_distinct() -> None:
    """Guards the tables above against copy-paste duplicates hiding a missing case."""
    for corpus in (BREAKS, SQL_PAYLOADS, list(ADDRESSES), IMAP_SPECIALS):
        assert len(set(corpus)) == len(corpus)
    assert len(list(itertools.chain(BREAKS, SQL_PAYLOADS))) > 10
