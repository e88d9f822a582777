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
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AppFactory, smtp_settings
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.history import history_statements
from tests.support.smtp_server import FaultyServer

HISTORY = 20_000
BIG_TABLES = ("attempts", "audit_entries", "suppressions", "send_keys", "request_keys")


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def collect(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", collect)


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
    api_factory: AppFactory, smtp: FaultyServer
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

    with captured(api.db.engine) as statements:
        r = await api.client.post(
            f"{API}/policy/validate",
            json={"recipient_email": "someone@plan.example", "sender_email": "me@sender.example"},
            headers=api.alice.headers,
        )
        assert r.status_code == 200, r.text
        assert (await send(api.client, api.alice.headers, campaign, leads[1])).status_code == 200
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
