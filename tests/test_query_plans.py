"""Hot-path statements use indexes: a send's, a validate's and a search's cost must not grow
with history.

Every statement a validate and a send run is captured as the driver receives
it, then EXPLAINed on a database whose history tables hold HISTORY rows each
(ANALYZEd, so the planner knows). None may read a big table in full: no
`Seq Scan on <table>` (PostgreSQL) and no `SCAN <table>` (SQLite, with or
without an index: a full index scan grows with history too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from sendwarden.storage import duplicate_key_purge, http_idempotency
from sendwarden.storage.db import Database
from sendwarden.storage.models import DuplicateKey
from sendwarden.storage.types import utcnow
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory, smtp_settings
from tests.support.history import history_statements
from tests.support.smtp_server import FaultyServer

HISTORY = 20_000
BIG_TABLES = ("attempts", "audit_entries", "suppressions", "send_keys", "request_keys")


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement run meanwhile, on any of the database's engines (SQLite's writer
    thread has its own: storage.writer_thread)."""
    statements: list[tuple[str, Any]] = []

    def collect(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    for engine in db.sync_engines:
        event.listen(engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        for engine in db.sync_engines:
            event.remove(engine, "before_cursor_execute", collect)


def _needs_plan(statement: str) -> bool:
    head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    if head in {"SELECT", "UPDATE", "DELETE", "WITH"}:
        return True
    return head == "INSERT" and re.search(r"\bSELECT\b", statement, re.IGNORECASE) is not None


def full_scans(dialect: str, plan: list[str]) -> list[str]:
    tables = "|".join(BIG_TABLES)
    if dialect == "postgresql":
        pattern = re.compile(rf"Seq Scan on ({tables})\b")
    else:
        pattern = re.compile(rf"^SCAN ({tables})\b")
    return [line for line in plan if pattern.search(line.strip())]


async def test_send_validate_and_search_statements_use_indexes_on_a_grown_database(
    api_factory: AppFactory, smtp: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = await api_factory(**smtp_settings(smtp))
    dialect = api.db.dialect
    campaign = await make_campaign(api.client, api.alice.headers)
    leads = [
        await make_lead(api.client, api.alice.headers, campaign, f"lead{i}@plan{i}.example")
        for i in range(3)
    ]
    async with api.db.transaction() as session:
        first_seq = (await session.execute(text("SELECT last_seq FROM audit_head"))).scalar_one()
    async with api.db.engine.connect() as connection:
        for statement in history_statements(dialect, api.alice.user_id, first_seq, HISTORY):
            await connection.exec_driver_sql(statement)
        await connection.commit()
    # Warm-up: one-off work (secrets, pools) is not the hot path.
    assert (await send(api.client, api.alice.headers, campaign, leads[0])).status_code == 200

    # The purges of expired keys run at most every 10 min: make them due now.
    monkeypatch.setattr(duplicate_key_purge, "_last_purge", float("-inf"))
    monkeypatch.setattr(http_idempotency, "_last_purge", float("-inf"))
    with captured(api.db) as statements:
        r = await api.client.post(
            f"{API}/policy/validate",
            json={"recipient_email": "someone@plan.example", "sender_email": "me@sender.example"},
            headers=api.alice.headers,
        )
        assert r.status_code == 200, r.text
        sent = await send(
            api.client,
            api.alice.headers,
            campaign,
            leads[1],
            extra_headers={"Idempotency-Key": "plan-test-key"},
        )
        assert sent.status_code == 200, sent.text
        duplicate = await send(api.client, api.alice.headers, campaign, leads[1])
        assert duplicate.status_code in (200, 403, 409), duplicate.text
        # The suppression search too: a prefix is an index range at any list size.
        found = await api.client.get(
            f"{API}/suppression", params={"q": "hist123"}, headers=api.alice.headers
        )
        assert found.status_code == 200 and found.json()["total"] == 111, (
            found.text
        )  # hist123, hist123N, hist123NN

    planned = [(s, p) for s, p in statements if _needs_plan(s)]
    # The validate's own statements are among them: its key confirmation and head advance.
    assert any("revoked_at IS NULL" in s for s, _ in planned), "no key confirmation"
    assert sum("UPDATE audit_head" in s for s, _ in planned) >= 2, "validate or send unaudited"
    # The purges of expired keys ran, and their look-ups are planned below.
    assert any("send_keys.used_at <=" in s for s, _ in planned), "no send_keys purge"
    assert any(s.startswith("DELETE FROM request_keys") for s, _ in planned), "no purge"
    # A purge deletes its batch by primary key; at this test's size a batch is 5 % of
    # the table and PostgreSQL may rightly prefer reading it whole, as it would not at
    # real sizes. The look-up that picks the batch must use the index all the same.
    planned = [
        (s, p)
        for s, p in planned
        if not s.startswith("DELETE FROM send_keys WHERE send_keys.id IN")
    ]
    assert len(planned) >= 5, statements
    explain = "EXPLAIN" if dialect == "postgresql" else "EXPLAIN QUERY PLAN"
    problems = []
    async with api.db.engine.connect() as connection:
        for statement, parameters in planned:
            if isinstance(parameters, list):  # executemany: one row's values plan alike
                parameters = parameters[0]
            result = await connection.exec_driver_sql(f"{explain} {statement}", parameters)
            plan = [str(row[-1]) for row in result.all()]
            if scans := full_scans(dialect, plan):
                problems.append((statement, scans))
        await connection.rollback()
    assert not problems, "\n\n".join(f"{s}\n  -> {scans}" for s, scans in problems)


async def test_expired_send_keys_are_purged_and_live_ones_kept(api: ApiHarness) -> None:
    now = utcnow()
    old = now - duplicate_key_purge.KEY_LIFETIME - timedelta(minutes=1)
    rows = [
        ("expired-1", "used", old),
        ("expired-2", "used", old),
        ("fresh", "used", now),
        ("in-flight", "in_flight", None),
    ]
    async with api.db.transaction() as session:
        for key, state, used_at in rows:
            session.add(
                DuplicateKey(
                    user_id=api.alice.user_id,
                    key_hash=key,
                    state=state,
                    attempt_id=None,
                    created_at=old,
                    used_at=used_at,
                )
            )
    async with api.db.transaction() as session:
        assert await duplicate_key_purge.purge_expired(session, limit=1) == 1  # bounded batches
        assert await duplicate_key_purge.purge_expired(session) == 1
        left = (
            await session.scalars(select(DuplicateKey.key_hash).order_by(DuplicateKey.key_hash))
        ).all()
        assert await session.scalar(select(func.count()).select_from(DuplicateKey)) == 2
    assert list(left) == ["fresh", "in-flight"]
