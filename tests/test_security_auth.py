"""API keys: every protected route refuses missing, malformed, revoked and wrong keys (401);
keys are stored hashed and compared in constant time.

The routes come from the app itself, so a new endpoint is covered (or fails) automatically.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from sendwarden.api.app import API_PREFIX
from sendwarden.storage import users
from tests.support.harness import ApiHarness, create_tenant
from tests.support.route_inventory import (
    PUBLIC_ROUTES,
    RouteInfo,
    app_routes,
    openapi_operations,
    protected_routes,
)

# A value for every path parameter the app uses; an unknown one fails loudly below.
PATH_VALUES = {
    "campaign_id": 1,
    "lead_id": 1,
    "attempt_id": 1,
    "reply_id": 1,
    "import_id": 1,
    "email": "someone@example.com",
    "token": "x" * 40,
    "webhook_id": 1,
    "delivery_id": 1,
}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Authentication does not depend on the database engine: SQLite only."""
    return sqlite_url


def _app(api: ApiHarness) -> object:
    transport = api.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app


async def _call(api: ApiHarness, route: RouteInfo, headers: dict[str, str]) -> httpx.Response:
    missing = set(route.params) - PATH_VALUES.keys()
    assert not missing, f"{route}: add a sample value for path parameter(s) {missing}"
    body: dict[str, Any] | None = {} if route.method in {"POST", "PUT", "PATCH"} else None
    # Raw UTF-8 bytes: httpx would refuse to encode a non-ASCII str header itself.
    raw_headers = [(k.encode(), v.encode()) for k, v in headers.items()]
    return await api.client.request(
        route.method, route.url(**PATH_VALUES), json=body, headers=raw_headers
    )


def _bad_credentials(api: ApiHarness, revoked_key: str) -> dict[str, dict[str, str]]:
    good = api.alice.key
    prefix, _, secret = good.removeprefix(users.KEY_PREFIX).partition("_")
    return {
        "missing": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": f"Basic {good}"},
        "no scheme": {"Authorization": good},
        "lower-case scheme, key with a space": {"Authorization": f"bearer {good} x"},
        "truncated key": {"Authorization": f"Bearer {good[:-1]}"},
        "right prefix, wrong secret": {
            "Authorization": f"Bearer {users.KEY_PREFIX}{prefix}_{secret[::-1]}"
        },
        "unknown prefix": {"Authorization": f"Bearer {users.KEY_PREFIX}{'0' * 12}_{secret}"},
        "the key's hash": {"Authorization": f"Bearer {users.hash_key(good)}"},
        "oversized": {"Authorization": f"Bearer {good}{'A' * 5000}"},
        "non-ASCII": {"Authorization": f"Bearer {good[:-1]}é"},
        "SQL in the key": {"Authorization": "Bearer sw_' OR '1'='1_' OR 1=1 --xxxxxxxxxxxxxxxxx"},
        "revoked": {"Authorization": f"Bearer {revoked_key}"},
    }


async def _revoked_key(api: ApiHarness) -> str:
    async with api.db.transaction() as session:
        user = await users.create_user(session, "revoked-user")
        issued = await users.issue_key(session, user, "old")
        assert await users.revoke_key(session, issued.key.id)
    return issued.plaintext


def test_route_inventory_matches_the_openapi_schema(api: ApiHarness) -> None:
    """Guards the route walker: it must see every documented operation."""
    app = _app(api)
    walked = {r.key for r in app_routes(app)}  # type: ignore[arg-type]
    documented = openapi_operations(app)  # type: ignore[arg-type]
    assert documented <= walked, f"walker missed {documented - walked}"
    assert len(protected_routes(app)) >= 20  # type: ignore[arg-type]


async def test_every_protected_route_rejects_bad_keys_with_401(api: ApiHarness) -> None:
    routes = protected_routes(_app(api))  # type: ignore[arg-type]
    credentials = _bad_credentials(api, await _revoked_key(api))
    checked = 0
    for route in routes:
        for label, headers in credentials.items():
            r = await _call(api, route, headers)
            assert r.status_code == 401, f"{route} with {label} key: {r.status_code} {r.text}"
            assert r.headers.get("www-authenticate") == "Bearer", f"{route} {label}"
            assert "API key" in r.json()["detail"]
            assert api.alice.key not in r.text
            checked += 1
    print(f"\n401 checks: {len(routes)} protected routes x {len(credentials)} bad keys = {checked}")


async def test_valid_key_passes_authentication_on_every_protected_route(api: ApiHarness) -> None:
    """The control for the test above: the same requests with a good key are not 401."""
    for route in protected_routes(_app(api)):  # type: ignore[arg-type]
        r = await _call(api, route, api.alice.headers)
        assert r.status_code != 401, f"{route}: {r.text}"


async def test_only_the_documented_routes_are_public(api: ApiHarness) -> None:
    public = [r for r in app_routes(_app(api)) if r.public]  # type: ignore[arg-type]
    assert {r.key for r in public} <= PUBLIC_ROUTES
    for route in public:
        r = await _call(api, route, {})
        assert r.status_code != 401, f"{route} should need no key"
    print(f"\npublic routes: {sorted(str(r) for r in public)}")


async def test_api_keys_are_stored_hashed_never_in_plaintext(api: ApiHarness) -> None:
    keys = [api.alice.key, api.bob.key, api.admin.key]
    async with api.db.transaction() as session:
        rows = (await session.execute(text("SELECT * FROM api_keys"))).mappings().all()
    assert len(rows) == len(keys)
    stored = "\n".join(repr(dict(row)) for row in rows)
    for key in keys:
        secret = key.split("_", 2)[2]  # sw_<prefix>_<secret>; the secret may contain "_"
        assert key not in stored and secret not in stored
        digest = hashlib.sha256(key.encode()).hexdigest()
        assert sum(row["key_hash"] == digest for row in rows) == 1


@pytest.mark.parametrize(
    "label",
    ["good key", "wrong secret for a real prefix", "unknown prefix", "malformed key"],
)
async def test_key_comparison_uses_hmac_compare_digest(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, label: str
) -> None:
    calls: list[tuple[str, str]] = []
    real: Callable[[str, str], bool] = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    good = api.alice.key
    key = {
        "good key": good,
        "wrong secret for a real prefix": good[:-4] + "AAAA",
        "unknown prefix": f"{users.KEY_PREFIX}{'f' * 12}_{good.rsplit('_', 1)[1]}",
        "malformed key": "not-a-key",
    }[label]
    r = await api.client.get(f"{API_PREFIX}/campaigns", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == (200 if label == "good key" else 401)
    ours = [c for c in calls if c[1] == users.hash_key(key)]
    assert len(ours) == 1, "the key's hash must be compared once, with hmac.compare_digest"


async def test_a_key_revoked_after_use_stops_working(api: ApiHarness) -> None:
    tenant = await create_tenant(api.db, "soon-revoked")
    url = f"{API_PREFIX}/campaigns"
    assert (await api.client.get(url, headers=tenant.headers)).status_code == 200
    async with api.db.transaction() as session:
        [key] = await users.list_keys(session, tenant.user_id)
        assert await users.revoke_key(session, key.id)
    r = await api.client.get(url, headers=tenant.headers)
    assert r.status_code == 401 and r.json()["detail"] == "Invalid or revoked API key"
