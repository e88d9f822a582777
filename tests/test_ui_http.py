"""The dashboard at the HTTP level: sign-in, cookie flags, CSRF, scoping, escaping, offline docs.

The browser tests (tests/test_ui_browser.py) drive the same pages in Chromium.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sendwarden.storage import users
from tests.support.api_helpers import API, make_campaign, make_lead
from tests.support.db_state import snapshot
from tests.support.harness import ApiHarness, AppFactory, Tenant, smtp_settings
from tests.support.route_inventory import ui_routes
from tests.support.smtp_server import FaultyServer
from tests.support.ui_seed import XSS, Seeded, seed_dashboard, timezone_away_from_midnight

PAGES = ["/ui/today", "/ui/attempts", "/ui/suppression", "/ui/inbox", "/ui/audit", "/ui/campaigns"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CDN_HOSTS = re.compile(
    r"cdn\.jsdelivr|unpkg\.com|cdnjs\.|fonts\.googleapis|fastapi\.tiangolo\.com/img"
)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The dashboard's rules live in the services (tested on both engines): SQLite here."""
    return sqlite_url


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(
        **smtp_settings(smtp), sendwarden_timezone=timezone_away_from_midnight()
    )


def _client(api: ApiHarness, base_url: str = "http://testserver") -> httpx.AsyncClient:
    transport = api.client._transport
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await client.get("/ui/sign-in")
    token = CSRF.search(page.text)
    assert token is not None, page.text
    return await client.post(
        "/ui/sign-in", data={"api_key": key, "csrf_token": token.group(1)}, follow_redirects=False
    )


async def csrf_of(client: httpx.AsyncClient, page: str = "/ui/today") -> str:
    r = await client.get(page)
    assert r.status_code == 200, r.text
    found = CSRF.search(r.text)
    assert found is not None
    return found.group(1)


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Cookie name -> its full Set-Cookie header."""
    return {next(iter(SimpleCookie(h).keys())): h for h in response.headers.get_list("set-cookie")}


async def test_sign_in_turns_the_key_into_an_http_only_strict_cookie_without_the_key(
    app: ApiHarness,
) -> None:
    async with _client(app) as client:
        r = await sign_in(client, app.alice.key)
        assert r.status_code == 303 and r.headers["location"] == "/ui/today"
        header = _set_cookies(r)["sw_session"]
        assert "HttpOnly" in header and "SameSite=strict" in header.replace("Strict", "strict")
        assert "Secure" not in header  # plain HTTP here
        secret = app.alice.key.split("_", 2)[2]
        assert app.alice.key not in header and secret not in header
        assert app.alice.key not in r.headers.get("location", "")
        today = await client.get("/ui/today")
        assert today.status_code == 200 and "alice" in today.text


async def test_session_cookie_is_secure_when_served_over_https(api_factory: AppFactory) -> None:
    api = await api_factory(sendwarden_public_url="https://sendwarden.example")
    async with _client(api, "https://testserver") as client:
        r = await sign_in(client, api.alice.key)
        assert "Secure" in _set_cookies(r)["sw_session"]


async def test_wrong_or_revoked_key_is_refused_without_a_session(app: ApiHarness) -> None:
    async with app.db.transaction() as session:
        user = await users.create_user(session, "gone")
        issued = await users.issue_key(session, user, "old")
        await users.revoke_key(session, issued.key.id)
    for key in ["sw_nope_nope", app.alice.key[:-1], issued.plaintext, "x" * 500]:
        async with _client(app) as client:
            r = await sign_in(client, key)
            assert r.status_code == 401, key
            assert "sw_session" not in _set_cookies(r)
            assert "unknown or revoked" in r.text


async def test_sign_in_form_without_its_csrf_token_is_refused(app: ApiHarness) -> None:
    async with _client(app) as client:
        r = await client.post("/ui/sign-in", data={"api_key": app.alice.key})
        assert r.status_code == 403 and "sw_session" not in _set_cookies(r)
        await client.get("/ui/sign-in")  # has the pre-sign-in cookie, but a forged token
        r = await client.post("/ui/sign-in", data={"api_key": app.alice.key, "csrf_token": "x"})
        assert r.status_code == 403 and "sw_session" not in _set_cookies(r)


async def test_sign_out_drops_the_session_and_revoking_the_key_ends_it(app: ApiHarness) -> None:
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        copied = client.cookies.get("sw_session")
        assert copied
        r = await client.post("/ui/sign-out", data={"csrf_token": await csrf_of(client)})
        assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in"
        assert 'sw_session=""' in _set_cookies(r)["sw_session"]
        assert (await client.get("/ui/today")).headers.get("location") == "/ui/sign-in"
    async with _client(app) as thief:  # a copy of the cookie dies with the sign-out
        thief.cookies.set("sw_session", copied, path="/ui")
        assert (await thief.get("/ui/today")).headers.get("location") == "/ui/sign-in"
    async with app.db.transaction() as session:
        stored = (await session.execute(text("SELECT token_hash FROM ui_sessions"))).all()
    assert all(copied not in row[0] for row in stored)
    async with app.db.transaction() as session:
        new = await users.issue_key(session, await session.get(users.User, app.bob.user_id), "x")
    async with _client(app) as client:
        await sign_in(client, new.plaintext)
        assert (await client.get("/ui/today")).status_code == 200
        async with app.db.transaction() as session:
            await users.revoke_key(session, new.key.id)
        r = await client.get("/ui/today")
        assert r.status_code == 303 and r.headers["location"] == "/ui/sign-in"


async def test_every_dashboard_route_needs_a_session(app: ApiHarness) -> None:
    transport = app.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    routes = [r for r in ui_routes(transport.app) if r.path != "/ui/sign-in"]  # type: ignore[arg-type]
    assert len(routes) >= 18
    values = {"attempt_id": 1, "campaign_id": 1, "lead_id": 1, "reply_id": 1, "suppression_id": 1}
    async with _client(app) as client:
        client.cookies.set("sw_session", "forged.value.here", path="/ui")
        for route in routes:
            r = await client.request(route.method, route.url(**values), headers=app.alice.headers)
            if route.method == "GET":
                assert r.status_code == 303, route
                assert r.headers["location"] in ("/ui/sign-in", "/ui/today"), route
            else:
                assert r.status_code == 401, f"{route}: {r.status_code}"


async def test_every_page_renders_empty(app: ApiHarness) -> None:
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        for page in PAGES:
            r = await client.get(page)
            assert r.status_code == 200, f"{page}: {r.text}"
            assert 'class="empty"' in r.text, page
        assert "sendwarden demo" in (await client.get("/ui/today")).text


async def test_every_page_renders_with_data(app: ApiHarness) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    expected = {
        "/ui/today": ["seed0.example"],
        "/ui/attempts": ["seed-0@seed0.example", "seed pitch", "unknown", "blocked"],
        "/ui/suppression": ["seed-1@seed1.example", "asked us to stop", "manual"],
        "/ui/inbox": [
            "Sounds good",
            "&gt; On Monday you wrote:",
            "4.2.2",
            "mailbox full",
            "5.7.1",
            "sender blocked",
        ],
        "/ui/audit": ["Chain verified", "suppression_added", "seed-0@seed0.example"],
        "/ui/campaigns": ["seed campaign"],
        f"/ui/campaigns/{seeded.campaign_id}": ["Contact 0", "https://seed0.example/0"],
    }
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        for page, needles in expected.items():
            r = await client.get(page)
            assert r.status_code == 200, page
            for needle in needles:
                assert needle in r.text, f"{page} lacks {needle!r}"
            assert 'class="empty"' not in r.text or page == "/ui/today", page


async def test_today_counts_sends_blocks_by_rule_and_cap_usage(app: ApiHarness) -> None:
    await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        text = (await client.get("/ui/today")).text
    assert re.search(r'id="sent-today">1<', text), text
    assert re.search(r'id="blocked-today">1<', text)
    assert "suppression" in text  # the rule that blocked
    assert "2/100" in text  # sent + the (now unknown) one reserved the user cap
    assert "/20" in text and "<svg" in text and "Last 30 days" in text


async def test_attempt_detail_shows_checks_and_resolves_unknown(app: ApiHarness) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        blocked = (await client.get(f"/ui/attempts/{seeded.blocked_attempt}")).text
        assert "Policy checks" in blocked and "failed" in blocked and "legitimate" in blocked
        page = await client.get(f"/ui/attempts/{seeded.unknown_attempt}")
        assert "Resolve this attempt" in page.text
        token = CSRF.search(page.text)
        assert token is not None
        r = await client.post(
            f"/ui/attempts/{seeded.unknown_attempt}/resolve",
            data={"csrf_token": token.group(1), "outcome": "failed", "note": "bounced in log"},
        )
        assert r.status_code == 303
    r = await app.client.get(f"{API}/attempts/{seeded.unknown_attempt}", headers=app.alice.headers)
    assert r.json()["status"] == "failed"


async def test_state_changing_posts_without_or_with_a_wrong_csrf_token_change_nothing(
    app: ApiHarness,
) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    forms = {
        "/ui/suppression": {"target": "csrf@victim.example"},
        "/ui/suppression/1/remove": {},
        "/ui/suppression/import": {"csv_text": "email\ncsrf2@victim.example\n"},
        f"/ui/attempts/{seeded.unknown_attempt}/resolve": {"outcome": "sent"},
        f"/ui/replies/{seeded.reply_id}/reclassify": {"classification": "not_interested"},
        "/ui/campaigns": {"name": "csrf"},
        f"/ui/campaigns/{seeded.campaign_id}/leads/import": {"csv_text": "website_url\nx.example"},
        f"/ui/campaigns/{seeded.campaign_id}/leads/{seeded.lead_ids[0]}/status": {
            "status": "placed"
        },
        "/ui/sign-out": {},
    }
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        other_session_token = await csrf_of(client)
        async with _client(app) as other:
            await sign_in(other, app.alice.key)
            other_session_token = await csrf_of(other)
        for token in (None, "", "0" * 64, other_session_token):
            for path, fields in forms.items():
                before = await snapshot(app.db)
                data = dict(fields) if token is None else {**fields, "csrf_token": token}
                r = await client.post(path, data=data)
                assert r.status_code == 403, f"{path} token={token!r}: {r.status_code}"
                assert not before.differences(await snapshot(app.db)), path
        assert (await client.get("/ui/today")).status_code == 200  # still signed in


async def test_other_users_rows_are_404_and_untouched(app: ApiHarness) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    async with _client(app) as client:
        await sign_in(client, app.bob.key)
        token = await csrf_of(client)
        for path in [
            f"/ui/attempts/{seeded.sent_attempt}",
            f"/ui/campaigns/{seeded.campaign_id}",
        ]:
            assert (await client.get(path)).status_code == 404, path
        before = await snapshot(app.db)
        for path, data in {
            f"/ui/attempts/{seeded.unknown_attempt}/resolve": {"outcome": "sent"},
            f"/ui/replies/{seeded.reply_id}/reclassify": {"classification": "not_interested"},
            f"/ui/campaigns/{seeded.campaign_id}/leads/import": {"csv_text": "website_url\ny.ex"},
            f"/ui/campaigns/{seeded.campaign_id}/leads/{seeded.lead_ids[0]}/status": {
                "status": "placed"
            },
        }.items():
            r = await client.post(path, data={**data, "csrf_token": token})
            assert r.status_code == 404, f"{path}: {r.status_code}"
        assert not before.differences(await snapshot(app.db))
        for page in PAGES:
            text = (await client.get(page)).text
            assert "seed-0@" not in text and "seed campaign" not in text, page


async def test_admin_sees_every_users_rows(app: ApiHarness) -> None:
    await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    async with _client(app) as client:
        await sign_in(client, app.admin.key)
        attempts = (await client.get("/ui/attempts")).text
        assert "seed-0@" in attempts and "alice" in attempts
        assert "seed campaign" in (await client.get("/ui/campaigns")).text
        assert "Sounds good" in (await client.get("/ui/inbox")).text


async def _validate(api: ApiHarness, tenant: Tenant, email: str) -> bool:
    r = await api.client.post(
        f"{API}/policy/validate", json={"recipient_email": email}, headers=tenant.headers
    )
    return bool(r.json()["allowed"])


async def test_reclassifying_a_reply_applies_then_lifts_its_suppression(app: ApiHarness) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    email = seeded.lead_emails[0]
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        for cls, allowed in [("not_interested", False), ("interested", True)]:
            r = await client.post(
                f"/ui/replies/{seeded.reply_id}/reclassify",
                data={"csrf_token": await csrf_of(client, "/ui/inbox"), "classification": cls},
            )
            assert r.status_code == 303
            assert await _validate(app, app.alice, email) is allowed, cls


async def test_suppression_added_and_imported_in_the_ui_blocks_the_api(app: ApiHarness) -> None:
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        token = await csrf_of(client, "/ui/suppression")
        r = await client.post(
            "/ui/suppression",
            data={"csrf_token": token, "target": "Jane@Blocked.example", "reason": "asked"},
        )
        assert r.status_code == 303
        assert "Suppressed jane@blocked.example" in (await client.get(r.headers["location"])).text
        r = await client.post(
            "/ui/suppression/import",
            data={"csrf_token": token},
            files={"file": ("s.csv", b"email,reason\nbulk@blocked2.example,list\nnot-an-email@\n")},
        )
        assert r.status_code == 303
        page = (await client.get(r.headers["location"])).text
        assert "1 added" in page and "1 rows skipped" in page and "line 3" in page
        export = await client.get("/ui/suppression/export")
        assert "bulk@blocked2.example" in export.text
    assert not await _validate(app, app.alice, "jane@blocked.example")
    assert not await _validate(app, app.alice, "bulk@blocked2.example")
    assert await _validate(app, app.bob, "jane@blocked.example")  # only Alice's list


async def test_user_supplied_text_is_escaped_on_every_page(app: ApiHarness) -> None:
    seeded = await seed_dashboard(
        app.client, app.db, app.alice.headers, app.alice.user_id, hostile=True
    )
    campaign = await make_campaign(app.client, app.alice.headers, name=XSS[1])
    await make_lead(app.client, app.alice.headers, campaign, "x@xss.example", contact_name=XSS[0])
    pages = [*PAGES, f"/ui/campaigns/{seeded.campaign_id}", f"/ui/campaigns/{campaign}"]
    pages += [f"/ui/attempts/{seeded.sent_attempt}", f"/ui/attempts/{seeded.blocked_attempt}"]
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        for page in pages:
            r = await client.get(page)
            assert r.status_code == 200, page
            for bad in ("<script>window", "<img src=x", "<svg onload"):
                assert bad not in r.text, f"{page} echoes {bad!r} unescaped"
        text = (await client.get("/ui/inbox")).text
        assert "&lt;script&gt;" in text or "&lt;img" in text
        r = await client.get("/ui/today")
        assert "script-src 'self'" in r.headers["content-security-policy"]


async def test_flash_messages_are_signed_so_links_cannot_plant_text(app: ApiHarness) -> None:
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        r = await client.post(
            "/ui/campaigns", data={"csrf_token": await csrf_of(client), "name": "Flash"}
        )
        shown = await client.get(r.headers["location"])
        assert "Campaign created" in shown.text
        token = r.headers["location"].split("flash=", 1)[1]
        for forged in ["Your key expired, re-enter it at evil.example", token[:-2] + "xx"]:
            page = await client.get("/ui/campaigns", params={"flash": forged})
            assert page.status_code == 200
            assert "evil.example" not in page.text and "Campaign created" not in page.text
        for legacy in ({"msg": "planted text"}, {"err": "planted text"}):
            assert "planted text" not in (await client.get("/ui/today", params=legacy)).text


async def test_audit_page_shows_a_broken_chain(app: ApiHarness) -> None:
    await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    async with app.db.transaction() as session:
        await session.execute(text("UPDATE audit_entries SET reason = 'edited' WHERE seq = 2"))
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        page = (await client.get("/ui/audit")).text
        assert "Chain broken" in page and "at entry 2" in page


async def test_docs_and_redoc_load_only_local_assets(app: ApiHarness) -> None:
    for path, marker in [("/docs", "swagger-ui"), ("/redoc", "redoc")]:
        r = await app.client.get(path)
        assert r.status_code == 200 and marker in r.text
        urls = re.findall(r'(?:src|href)=["\']([^"\']+)', r.text)
        urls += re.findall(r"url: ?['\"]([^'\"]+)", r.text)
        assert urls, r.text
        for url in urls:
            assert url.startswith("/"), f"{path} loads {url}"
            assert (await app.client.get(url)).status_code == 200, url
        assert not CDN_HOSTS.search(r.text)
    bundle = await app.client.get("/docs-assets/redoc.standalone.js")
    assert bundle.status_code == 200 and b"cdn.redoc.ly" not in bundle.content


def test_no_cdn_host_anywhere_in_the_package() -> None:
    root = Path(__file__).parent.parent / "sendwarden"
    hits = [
        str(p)
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".html", ".js", ".css"}
        and CDN_HOSTS.search(p.read_text(errors="replace"))
    ]
    assert not hits


async def test_seed_helper_returns_the_rows_it_made(app: ApiHarness) -> None:
    seeded: Seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    r = await app.client.get(f"{API}/attempts/{seeded.blocked_attempt}", headers=app.alice.headers)
    assert r.json()["status"] == "blocked"


async def test_admin_removes_another_users_suppression_for_them(app: ApiHarness) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    email = seeded.lead_emails[1]
    assert not await _validate(app, app.alice, email)
    async with _client(app) as client:
        await sign_in(client, app.admin.key)
        page = (await client.get("/ui/suppression", params={"q": email})).text
        found = re.search(r'action="/ui/suppression/(\d+)/remove"', page)
        assert found is not None
        r = await client.post(
            f"/ui/suppression/{found.group(1)}/remove", data={"csrf_token": CSRF.findall(page)[0]}
        )
        assert r.status_code == 303
    assert await _validate(app, app.alice, email)


async def test_lead_status_and_campaign_changes_in_the_ui_show_in_the_api(
    app: ApiHarness,
) -> None:
    seeded = await seed_dashboard(app.client, app.db, app.alice.headers, app.alice.user_id)
    lead = seeded.lead_ids[2]
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        token = await csrf_of(client, f"/ui/campaigns/{seeded.campaign_id}")
        r = await client.post(
            f"/ui/campaigns/{seeded.campaign_id}/leads/{lead}/status",
            data={"csrf_token": token, "status": "placed"},
        )
        assert r.status_code == 303
        r = await client.post(
            f"/ui/campaigns/{seeded.campaign_id}/leads/{lead}/status",
            data={"csrf_token": token, "status": "no-such-status"},
        )
        assert "Choose one of the lead statuses" in (await client.get(r.headers["location"])).text
    leads = await app.client.get(
        f"{API}/campaigns/{seeded.campaign_id}/leads", headers=app.alice.headers
    )
    assert {x["id"]: x["status"] for x in leads.json()["items"]}[lead] == "placed"


async def test_a_processed_reply_keeps_its_original_next_to_the_stripped_text(
    app: ApiHarness,
) -> None:
    """Through the real parser and inbound processing, as the IMAP poller does it."""
    from sendwarden.inbound.parse import parse_inbound
    from sendwarden.services import inbound_processing
    from sendwarden.storage.models import InboundMessage

    campaign = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, campaign, "ed@reply.example")
    r = await app.client.post(
        f"{API}/outreach/send",
        json={"campaign_id": campaign, "lead_id": lead, "subject": "Guest post", "body": "Hi"},
        headers=app.alice.headers,
    )
    message_id = r.json()["message_id"]
    raw = (
        "From: Ed <ed@reply.example>\r\nTo: outreach@sender.example\r\n"
        "Subject: Re: Guest post\r\nMessage-ID: <r1@reply.example>\r\n"
        f"In-Reply-To: {message_id}\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Happy to take a look, send it over.\r\n\r\n-- \r\nEd Example\r\n\r\n"
        "On Sun, 29 Nov 2026 at 09:00, Outreach wrote:\r\n> Hi\r\n"
    ).encode()
    parsed = parse_inbound(raw)
    async with app.db.transaction() as session:
        record = InboundMessage(mailbox="INBOX", uid=1, uidvalidity=1, kind="reply", status="ok")
        session.add(record)
        await session.flush()
        await inbound_processing.apply(session, parsed, record.id)
    async with _client(app) as client:
        await sign_in(client, app.alice.key)
        page = (await client.get("/ui/inbox")).text
    assert "Happy to take a look" in page and "Original message, with quotes" in page
    assert "Ed Example" in page and "&gt; Hi" in page


async def test_dashboard_with_the_database_down_answers_503_not_a_trace() -> None:
    from sendwarden.api.app import create_app
    from tests.support.harness import asgi_client, make_settings

    app = create_app(make_settings("sqlite+aiosqlite:////nonexistent-sendwarden-dir/x.db"))
    async with asgi_client(app) as client:
        client.cookies.set("sw_session", "a" * 43, path="/ui")
        for path in ("/ui/today", "/ui/attempts"):
            r = await client.get(path)
            assert r.status_code == 503, f"{path}: {r.status_code} {r.text}"
            assert "Traceback" not in r.text and "nonexistent" not in r.text
    await app.state.sendwarden.close()
