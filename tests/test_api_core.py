"""HTTP API of product.md §2 for policy, suppression, campaigns, leads and the audit log."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.support.api_helpers import API, make_campaign, make_lead
from tests.support.harness import ApiHarness, AppFactory

ORIGINAL_FIELDS = (
    "allowed",
    "reason",
    "legal_basis",
    "daily_user_count",
    "daily_user_limit",
    "daily_domain_count",
    "daily_domain_limit",
    "region",
)


async def validate(api: ApiHarness, recipient: str, who: str = "alice", **extra: Any) -> Any:
    headers = getattr(api, who).headers
    r = await api.client.post(
        f"{API}/policy/validate",
        json={"recipient_email": recipient, "sender_email": "me@sender.example", **extra},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


# --- policy/validate --------------------------------------------------------------------


async def test_validate_response_has_original_fields_and_checks(api: ApiHarness) -> None:
    body = await validate(api, "editor@example.com", subject="Guest Post: AI Marketing Trends")
    assert all(field in body for field in ORIGINAL_FIELDS)
    assert body["allowed"] is True and body["reason"] == "All checks passed"
    assert body["daily_user_limit"] == 100 and body["daily_domain_limit"] == 20
    assert [c["name"] for c in body["checks"]] == [
        "sender_alias",
        "suppression",
        "idempotency",
        "daily_user_cap",
        "daily_domain_cap",
        "legal_basis",
    ]


@pytest.mark.parametrize(
    ("recipient", "region", "basis"),
    [
        ("a@shop.de", "EU", "consent"),
        ("a@news.co.uk", "UK", "consent"),
        ("a@x.gov.uk", "UK", "consent"),
        ("a@blog.ca", "CA", "consent"),
        ("a@site.com.au", "AU", "consent"),
        ("a@site.co.nz", "NZ", "consent"),
        ("a@firma.lu", "EU", "consent"),
        ("a@europa.eu", "EU", "consent"),
        ("a@example.com", "US", "legitimate_interest"),
        ("a@example.io", "US", "legitimate_interest"),
        ("a@example.jp", "JP", "legitimate_interest"),
    ],
)
async def test_validate_region_and_legal_basis_from_public_suffix(
    api: ApiHarness, recipient: str, region: str, basis: str
) -> None:
    body = await validate(api, recipient)
    assert (body["region"], body["legal_basis"]) == (region, basis)


async def test_validate_is_audited_with_requested_and_effective_sender(api: ApiHarness) -> None:
    await validate(api, "x@example.com", sender_email="boss@elsewhere.example")
    logs = (await api.client.get(f"{API}/audit-logs", headers=api.alice.headers)).json()
    [entry] = logs["items"]
    assert entry["requested_sender_email"] == "boss@elsewhere.example"
    assert entry["sender_email"] == "outreach@sender.example"
    assert entry["lead_email"] == "x@example.com" and entry["policy_result"] == "approved"


async def test_validate_blocked_by_user_suppression_of_registrable_domain(api: ApiHarness) -> None:
    await api.client.post(
        f"{API}/suppression", json={"domain": "Example.CO.UK"}, headers=api.alice.headers
    )
    body = await validate(api, "someone@mail.example.co.uk")
    assert body["allowed"] is False and "suppressed" in body["reason"]
    other = await validate(api, "someone@mail.example.co.uk", who="bob")
    assert other["allowed"] is True  # one user's suppression never blocks another


async def test_validate_blocked_by_global_suppression_for_everyone(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/suppression",
        json={"email": "no@example.org", "scope": "global"},
        headers=api.admin.headers,
    )
    assert r.status_code == 201 and r.json()["scope"] == "global"
    for who in ("alice", "bob"):
        assert (await validate(api, "NO@Example.org", who=who))["allowed"] is False


async def test_validate_strict_consent_mode_reports_requirement(api_factory: AppFactory) -> None:
    api = await api_factory(sendwarden_require_consent=True)
    body = await validate(api, "a@firma.de")
    check = {c["name"]: c for c in body["checks"]}["legal_basis"]
    assert check["passed"] and "consent must be on record" in check["detail"]


async def test_validate_rejects_invalid_addresses_and_header_injection(api: ApiHarness) -> None:
    bad = [
        {"recipient_email": "not-an-address"},
        {"recipient_email": "a@b@c.com"},
        {"recipient_email": "a@example.com\r\nBcc: x@y.z"},
        {"recipient_email": "a@example.com", "subject": "x\ny"},
        {"recipient_email": "a@example.com", "unknown_field": 1},
        {},
    ]
    for payload in bad:
        r = await api.client.post(f"{API}/policy/validate", json=payload, headers=api.alice.headers)
        assert r.status_code == 422, payload
        assert r.json()["detail"].startswith("Invalid request:")
        assert r.json()["errors"][0]["field"]


# --- suppression --------------------------------------------------------------------------


async def test_suppression_add_is_normalised_and_idempotent(api: ApiHarness) -> None:
    first = await api.client.post(
        f"{API}/suppression",
        json={"email": "  Editor@Bücher.DE ", "reason": "asked"},
        headers=api.alice.headers,
    )
    assert first.status_code == 201
    assert first.json()["email"] == "editor@xn--bcher-kva.de"
    again = await api.client.post(
        f"{API}/suppression", json={"email": "editor@bücher.de"}, headers=api.alice.headers
    )
    assert again.status_code == 200 and again.json()["created"] is False


async def test_suppression_needs_exactly_one_target(api: ApiHarness) -> None:
    for payload in ({}, {"email": "a@b.com", "domain": "b.com"}):
        r = await api.client.post(f"{API}/suppression", json=payload, headers=api.alice.headers)
        assert r.status_code == 422


async def test_suppression_global_requires_admin(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/suppression",
        json={"email": "a@b.com", "scope": "global"},
        headers=api.alice.headers,
    )
    assert r.status_code == 403


async def test_suppression_list_paginates_and_searches(api: ApiHarness) -> None:
    for i in range(7):
        await api.client.post(
            f"{API}/suppression", json={"email": f"u{i}@list.example"}, headers=api.alice.headers
        )
    await api.client.post(
        f"{API}/suppression",
        json={"domain": "other.example", "reason": "competitor"},
        headers=api.alice.headers,
    )
    page = (
        await api.client.get(
            f"{API}/suppression", params={"limit": 3, "offset": 3}, headers=api.alice.headers
        )
    ).json()
    assert page["total"] == 8 and len(page["items"]) == 3 and page["offset"] == 3
    found = (
        await api.client.get(
            f"{API}/suppression", params={"q": "OTHER."}, headers=api.alice.headers
        )
    ).json()
    assert [i["value"] for i in found["items"]] == ["other.example"]
    literal = (
        await api.client.get(f"{API}/suppression", params={"q": "%"}, headers=api.alice.headers)
    ).json()
    assert literal["total"] == 0  # LIKE wildcards are matched literally
    assert (await api.client.get(f"{API}/suppression", headers=api.bob.headers)).json()[
        "total"
    ] == 0


async def test_suppression_delete_own_entry_and_404_otherwise(api: ApiHarness) -> None:
    await api.client.post(
        f"{API}/suppression", json={"email": "del@example.com"}, headers=api.alice.headers
    )
    assert (
        await api.client.delete(f"{API}/suppression/del@example.com", headers=api.bob.headers)
    ).status_code == 404
    r = await api.client.delete(f"{API}/suppression/DEL@example.com", headers=api.alice.headers)
    assert r.status_code == 200 and r.json()["value"] == "del@example.com"
    assert (
        await api.client.delete(f"{API}/suppression/del@example.com", headers=api.alice.headers)
    ).status_code == 404
    assert (await validate(api, "del@example.com"))["allowed"] is True


async def test_suppression_csv_import_reports_bad_rows_with_line_numbers(api: ApiHarness) -> None:
    csv = (
        b"email,reason\n"
        b"good1@example.com,asked\n"
        b"not an address,x\n"
        b"\xff\xfe\xfa@broken.example,bad utf8\n"
        b"good2@example.com\n"
        b"good1@example.com,again\n"
        b"example.net,whole domain\n"
    )
    r = await api.client.post(
        f"{API}/suppression/import",
        content=csv,
        headers={**api.alice.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["added"] == 3 and report["duplicate"] == 1
    assert [(row["line"], "UTF-8" in row["error"]) for row in report["invalid"]] == [
        (3, False),
        (4, True),
    ]
    exported = await api.client.get(f"{API}/suppression/export", headers=api.alice.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0] == "kind,value,reason,source,scope,created_at"
    assert sorted(line.split(",")[1] for line in lines[1:]) == [
        "example.net",
        "good1@example.com",
        "good2@example.com",
    ]


async def test_suppression_export_cells_never_start_a_formula_and_re_import_unchanged(
    api: ApiHarness,
) -> None:
    # Valid addresses and remote-controlled reasons can start like a spreadsheet formula.
    hostile = {
        "=cmd@example.com": '=HYPERLINK("http://evil.example")',
        "+1@example.com": "@SUM(A1:A9)",
        "-x@example.com": "-2+3",
    }
    for address, reason in hostile.items():
        r = await api.client.post(
            f"{API}/suppression",
            json={"email": address, "reason": reason},
            headers=api.alice.headers,
        )
        assert r.status_code == 201, r.text
    exported = await api.client.get(f"{API}/suppression/export", headers=api.alice.headers)
    rows = list(csv.reader(io.StringIO(exported.text)))[1:]
    assert rows and all(
        not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row[1:4]
    ), rows
    assert {row[1] for row in rows} == {"'" + address for address in hostile}
    r = await api.client.post(
        f"{API}/suppression/import",
        content=exported.content,
        headers={**api.bob.headers, "Content-Type": "text/csv"},
    )
    assert r.json() == {"added": 3, "duplicate": 0, "invalid": []}
    listed = await api.client.get(f"{API}/suppression", headers=api.bob.headers)
    assert {(i["value"], i["reason"]) for i in listed.json()["items"]} == set(hostile.items())


async def test_suppression_import_of_export_round_trips(api: ApiHarness) -> None:
    await api.client.post(
        f"{API}/suppression",
        json={"email": "rt@example.com", "reason": "a, b"},
        headers=api.alice.headers,
    )
    exported = (
        await api.client.get(f"{API}/suppression/export", headers=api.alice.headers)
    ).content
    r = await api.client.post(
        f"{API}/suppression/import",
        content=exported,
        headers={**api.bob.headers, "Content-Type": "text/csv"},
    )
    assert r.json() == {"added": 1, "duplicate": 0, "invalid": []}


# --- campaigns and leads ----------------------------------------------------------------


async def test_campaign_crud_and_foreign_ids_are_404(api: ApiHarness) -> None:
    c = await make_campaign(api.client, api.alice.headers, "Launch")
    got = await api.client.get(f"{API}/campaigns/{c}", headers=api.alice.headers)
    assert got.status_code == 200 and got.json()["name"] == "Launch"
    assert (
        await api.client.get(f"{API}/campaigns/{c}", headers=api.bob.headers)
    ).status_code == 404
    assert (await api.client.get(f"{API}/campaigns", headers=api.bob.headers)).json()["total"] == 0
    assert (
        await api.client.delete(f"{API}/campaigns/{c}", headers=api.bob.headers)
    ).status_code == 404
    assert (
        await api.client.delete(f"{API}/campaigns/{c}", headers=api.alice.headers)
    ).status_code == 204
    assert (
        await api.client.get(f"{API}/campaigns/{c}", headers=api.alice.headers)
    ).status_code == 404
    assert (
        await api.client.get(f"{API}/campaigns/999999", headers=api.alice.headers)
    ).status_code == 404


async def test_lead_duplicate_website_returns_existing_lead(api: ApiHarness) -> None:
    c = await make_campaign(api.client, api.alice.headers)
    first = await api.client.post(
        f"{API}/campaigns/{c}/leads",
        json={"website_url": "https://www.Example.com/", "contact_email": "a@example.com"},
        headers=api.alice.headers,
    )
    assert first.status_code == 201
    again = await api.client.post(
        f"{API}/campaigns/{c}/leads",
        json={"website_url": "http://example.com"},
        headers=api.alice.headers,
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    body = first.json()
    assert {"id", "campaign_id", "website_url", "contact_email", "status"} <= body.keys()
    assert body["status"] == "discovered"


async def test_lead_bulk_reports_added_skipped_failed(api: ApiHarness) -> None:
    c = await make_campaign(api.client, api.alice.headers)
    await make_lead(
        api.client, api.alice.headers, c, "x@existing.example", site="https://existing.example"
    )
    leads = [
        {"website_url": "https://new1.example", "contact_email": "a@new1.example"},
        {"website_url": "https://existing.example/"},
        {"website_url": "https://bad.example", "contact_email": "nope"},
        {"website_url": "ftp://files.example"},
        {"website_url": "https://new2.example", "surprise": True},
        {"website_url": "https://new3.example"},
    ]
    r = await api.client.post(
        f"{API}/campaigns/{c}/leads/bulk", json={"leads": leads}, headers=api.alice.headers
    )
    assert r.status_code == 200
    report = r.json()
    assert (report["added"], report["skipped"]) == (2, 1)
    assert [f["index"] for f in report["failed"]] == [2, 3, 4]
    assert "contact_email" in report["failed"][0]["error"]


async def test_lead_status_update_validates_status(api: ApiHarness) -> None:
    c = await make_campaign(api.client, api.alice.headers)
    lead = await make_lead(api.client, api.alice.headers, c, "s@status.example")
    url = f"{API}/campaigns/{c}/leads/{lead}/status"
    assert (
        await api.client.patch(url, json={"status": "placed"}, headers=api.alice.headers)
    ).json()["status"] == "placed"
    bad = await api.client.patch(url, json={"status": "won"}, headers=api.alice.headers)
    assert bad.status_code == 422 and "status" in bad.json()["detail"]
    assert (
        await api.client.patch(url, json={"status": "placed"}, headers=api.bob.headers)
    ).status_code == 404
    listed = (
        await api.client.get(
            f"{API}/campaigns/{c}/leads", params={"status": "placed"}, headers=api.alice.headers
        )
    ).json()
    assert listed["total"] == 1


# --- audit log ------------------------------------------------------------------------------


async def test_audit_logs_filter_by_result_recipient_time_and_paginate(api: ApiHarness) -> None:
    await api.client.post(
        f"{API}/suppression", json={"email": "blocked@example.com"}, headers=api.alice.headers
    )
    for i in range(4):
        await validate(api, f"ok{i}@example.com")
    await validate(api, "blocked@example.com")
    blocked = (
        await api.client.get(
            f"{API}/audit-logs", params={"result": "blocked"}, headers=api.alice.headers
        )
    ).json()
    assert [e["lead_email"] for e in blocked["items"]] == ["blocked@example.com"]
    by_recipient = (
        await api.client.get(
            f"{API}/audit-logs", params={"recipient": "OK1@example.com"}, headers=api.alice.headers
        )
    ).json()
    assert by_recipient["total"] == 1
    page = (
        await api.client.get(
            f"{API}/audit-logs",
            params={"limit": 2, "event": "policy_validate"},
            headers=api.alice.headers,
        )
    ).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["items"][0]["seq"] > page["items"][1]["seq"]  # newest first
    future = (
        await api.client.get(
            f"{API}/audit-logs", params={"since": "2999-01-01T00:00:00"}, headers=api.alice.headers
        )
    ).json()
    assert future["total"] == 0
    assert (await api.client.get(f"{API}/audit-logs", headers=api.bob.headers)).json()["total"] == 0


async def test_oversized_request_body_is_413_with_clear_message(api: ApiHarness) -> None:
    huge = {"recipient_email": "a@example.com", "subject": "x" * (2 * 1024 * 1024)}
    r = await api.client.post(f"{API}/policy/validate", json=huge, headers=api.alice.headers)
    assert r.status_code == 413 and "too large" in r.json()["detail"]


async def test_health_and_metrics_need_no_key(api: ApiHarness) -> None:
    health = await api.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}
    metrics = await api.client.get("/metrics")
    assert metrics.status_code == 200 and "sendwarden_sends_total" in metrics.text
