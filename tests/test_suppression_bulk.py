"""Bulk suppression import/export: streamed parsing, chunked writes, jobs, one audit entry."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from sendwarden.policy.addresses import mailbox_key
from sendwarden.services import cpu_pool, suppression_import, suppression_jobs
from sendwarden.services.suppression_csv import MAX_LINE_BYTES, Columns, LineSplitter
from sendwarden.services.suppression_export import export_csv
from sendwarden.services.suppression_rows import Checked, check_lines
from sendwarden.storage.models import AuditEntry, Suppression
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness


def split_in_pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"b,c", b"\r", b"\n", b"\r\n", b"\xff", b" "]), max_size=40),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_line_splitter_matches_splitlines_whatever_the_chunking(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(parts)
    splitter = LineSplitter()
    lines = [raw for piece in split_in_pieces(data, cuts) for _, raw in splitter.feed(piece)]
    lines += [raw for _, raw in splitter.finish()]
    assert lines == data.splitlines()
    assert splitter.line == len(data.splitlines())


def test_line_splitter_skips_overlong_lines_without_buffering_them() -> None:
    splitter = LineSplitter()
    out = list(splitter.feed(b"ok\n" + b"x" * (MAX_LINE_BYTES // 2)))
    for _ in range(10):
        out += splitter.feed(b"x" * MAX_LINE_BYTES)
        assert len(splitter._pending) <= MAX_LINE_BYTES
    out += splitter.feed(b"\nafter\n")
    assert out == [(1, b"ok"), (2, None), (3, b"after")]
    assert splitter.overlong_start == b"x" * 100


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_import_in_many_chunks_counts_exactly_and_audits_once(api: ApiHarness) -> None:
    rows = [f"u{i}@bulk{i % 7}.example,r{i}" for i in range(5000)]
    rows[10] = "not an address@"
    rows[4000] = "u1@bulk1.example,again"  # a duplicate in a later chunk
    rows.append("U2@BULK2.example")  # a duplicate in another case
    data = ("email,reason\n" + "\n".join(rows) + "\n").encode()
    target = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    async with api.db.transaction() as session:
        audit_before = await session.scalar(select(func.count()).select_from(AuditEntry))
    result = await suppression_import.import_stream(api.db, chunked(data, 997), target)
    assert (result.added, result.duplicate, result.invalid_count) == (4998, 2, 1)
    assert [line for line, _, _ in result.invalid] == [12]
    async with api.db.transaction() as session:
        stored = await session.scalar(select(func.count()).select_from(Suppression))
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.seq > (audit_before or 0)))
        ).all()
    assert stored == 4998
    [entry] = audit
    details = json.loads(entry.details)
    assert entry.event == "suppression_import" and entry.user_id == api.alice.user_id
    assert (details["added"], details["duplicate"], details["invalid"]) == (4998, 2, 1)
    assert len(details["sha256"]) == 64 and details["bytes"] == len(data)
    again = await suppression_import.import_stream(api.db, chunked(data, 4096), target)
    assert (again.added, again.duplicate) == (0, 5000)


async def test_export_pages_by_key_and_matches_the_list(api: ApiHarness) -> None:
    data = "".join(f"e{i}@export.example,=x{i}\n" for i in range(1234)).encode()
    target = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    await suppression_import.import_stream(api.db, chunked(data, 10_000), target)
    pieces = [piece async for piece in export_csv(api.db, user_id=api.alice.user_id, page_rows=100)]
    assert [n for _, n in pieces] == [0] + [100] * 12 + [34]
    rows = list(csv.reader(io.StringIO("".join(text for text, _ in pieces))))
    assert rows[0] == ["kind", "value", "reason", "source", "scope", "created_at"]
    assert [r[1] for r in rows[1:]] == [f"e{i}@export.example" for i in range(1234)]
    assert rows[1][2] == "'=x0"  # formula-safe
    bob = [piece async for piece in export_csv(api.db, user_id=api.bob.user_id)]
    assert "".join(t for t, _ in bob).count("\n") == 1  # header only


async def test_import_with_respond_async_reports_progress_as_a_job(api: ApiHarness) -> None:
    data = b"email\n" + b"".join(f"j{i}@job.example\n".encode() for i in range(4500)) + b"bad@\n"
    r = await api.client.post(
        f"{API}/suppression/import",
        content=data,
        headers={**api.alice.headers, "Prefer": "respond-async"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "running" and r.headers["Location"] == job["status_url"]
    await suppression_jobs.wait_for_all()
    status = await api.client.get(job["status_url"], headers=api.alice.headers)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["state"] == "done" and body["lines"] == 4502
    assert (body["added"], body["duplicate"], body["invalid_count"]) == (4500, 0, 1)
    assert body["invalid"][0]["line"] == 4502 and body["sha256"] and body["finished_at"]
    other = await api.client.get(job["status_url"], headers=api.bob.headers)
    assert other.status_code == 404


async def test_import_job_of_an_empty_body_fails_with_the_reason(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/suppression/import",
        content=b"\n \n",
        headers={**api.alice.headers, "Prefer": "respond-async"},
    )
    assert r.status_code == 202
    await suppression_jobs.wait_for_all()
    body = (await api.client.get(r.json()["status_url"], headers=api.alice.headers)).json()
    assert body["state"] == "failed" and "empty" in body["error"]


async def test_search_is_an_indexed_case_insensitive_prefix(api: ApiHarness) -> None:
    for target in ("ann@a.example", "anna@b.example", "bob@ann.example", "ann.example"):
        await api.client.post(
            f"{API}/suppression",
            json={"email" if "@" in target else "domain": target},
            headers=api.alice.headers,
        )
    found = await api.client.get(
        f"{API}/suppression", params={"q": "ANN"}, headers=api.alice.headers
    )
    assert [i["value"] for i in found.json()["items"]] == [
        "ann.example",
        "ann@a.example",
        "anna@b.example",
    ]
    assert found.json()["total"] == 3


async def test_import_does_not_hold_the_writer_between_chunks(api: ApiHarness) -> None:
    """A write from another task gets in while an import is between two chunks."""
    gate = asyncio.Event()
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"".join(f"s{i}@slow.example\n".encode() for i in range(2500))
        gate.set()
        await release.wait()
        yield b"last@slow.example\n"

    target = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    importing = asyncio.create_task(suppression_import.import_stream(api.db, slow_body(), target))
    await gate.wait()
    r = await asyncio.wait_for(
        api.client.post(
            f"{API}/suppression", json={"email": "meanwhile@x.example"}, headers=api.bob.headers
        ),
        timeout=10,
    )
    assert r.status_code == 201
    release.set()
    result = await importing
    assert result.added == 2501


async def test_read_only_routes_answer_while_a_writer_holds_the_database(
    api: ApiHarness,
) -> None:
    """On SQLite a write transaction excludes other writers; reads must not queue behind it."""
    holding = asyncio.Event()
    release = asyncio.Event()
    # The key's last-use stamp is a write (once a minute): get it done first.
    assert (await api.client.get(f"{API}/campaigns", headers=api.alice.headers)).is_success

    async def long_writer() -> None:
        async with api.db.transaction() as session:
            await session.execute(select(func.count()).select_from(Suppression))
            holding.set()
            await release.wait()

    writer = asyncio.create_task(long_writer())
    await holding.wait()
    try:
        for path in (
            "/suppression",
            "/suppression/export",
            "/attempts",
            "/audit-logs",
            "/campaigns",
        ):
            r = await asyncio.wait_for(
                api.client.get(f"{API}{path}", headers=api.alice.headers), timeout=5
            )
            assert r.status_code == 200, (path, r.text)
    finally:
        release.set()
        await writer


async def test_global_import_needs_admin_and_dedupes_on_the_global_index(api: ApiHarness) -> None:
    data = b"email\nglobal1@g.example\nglobal2@g.example\n"
    url = f"{API}/suppression/import?scope=global"
    denied = await api.client.post(url, content=data, headers=api.alice.headers)
    assert denied.status_code == 403
    first = await api.client.post(url, content=data, headers=api.admin.headers)
    assert first.json() == {"added": 2, "duplicate": 0, "invalid": []}
    again = await api.client.post(url, content=data, headers=api.admin.headers)
    assert again.json() == {"added": 0, "duplicate": 2, "invalid": []}
    # The same addresses may still go on a user's own list.
    own = await api.client.post(f"{API}/suppression/import", content=data, headers=api.bob.headers)
    assert own.json()["added"] == 2
    listed = await api.client.get(f"{API}/suppression", headers=api.bob.headers)
    assert sorted(i["scope"] for i in listed.json()["items"]) == [
        "global",
        "global",
        "user",
        "user",
    ]


def mixed_rows(count: int) -> bytes:
    """Addresses with tags and capitals, domains, blank, invalid and non-UTF-8 lines."""
    lines = [b"email,reason"]
    for i in range(count):
        if i % 997 == 5:
            lines.append(b"\xff\xfe@bad.example")
        elif i % 1009 == 7:
            lines.append(b"")
        elif i % 503 == 11:
            lines.append(f"not an address {i}@".encode())
        elif i % 7 == 0:
            lines.append(f"@Sub{i % 50}.Example.ORG,domain {i}".encode())
        else:
            lines.append(f"User{i % 4000}+Tag{i % 3}@Mixed{i % 13}.Example,r{i}".encode())
    return b"\n".join(lines) + b"\n"


async def stored_entries(api: ApiHarness, user_id: int) -> set[tuple[str, str, str | None]]:
    async with api.db.read() as session:
        rows = (
            await session.execute(
                select(Suppression.kind, Suppression.value, Suppression.mailbox).where(
                    Suppression.user_id == user_id
                )
            )
        ).all()
    return {(kind, value, mailbox) for kind, value, mailbox in rows}


async def test_helper_process_and_inline_checking_import_the_same(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = mixed_rows(12_000)
    alice = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    bob = suppression_import.ImportTarget(user_id=api.bob.user_id, actor_id=api.bob.user_id)
    helper = await suppression_import.import_stream(api.db, chunked(data, 8192), alice)
    monkeypatch.setattr(suppression_import, "INLINE_LINES", 10**9)
    inline = await suppression_import.import_stream(api.db, chunked(data, 8192), bob)
    assert (helper.added, helper.duplicate, helper.invalid_count, helper.lines) == (
        inline.added,
        inline.duplicate,
        inline.invalid_count,
        inline.lines,
    )
    assert helper.invalid == inline.invalid and helper.invalid_count == 13 + 24
    entries = await stored_entries(api, api.alice.user_id)
    assert entries == await stored_entries(api, api.bob.user_id)
    assert len(entries) == helper.added
    for kind, value, mailbox in entries:  # the mailbox column as a single add fills it
        assert mailbox == (mailbox_key(value) if kind == "email" else None)


async def test_cpu_pool_answers_none_when_the_function_fails() -> None:
    assert await cpu_pool.run(check_lines, [(2, b"a@b.example", b"")], Columns(), False) == (
        [Checked(2, "email", "a@b.example", "a@b.example", None, None)],
        True,
    )
    assert await cpu_pool.run(int, "not a number") is None
    await cpu_pool.shutdown()


async def test_a_large_import_refreshes_the_planner_statistics(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without fresh statistics PostgreSQL planned a prefix search after a 1 M-row import
    # through the owner index, reading every entry (71 ms instead of 0.2 ms).
    monkeypatch.setattr(suppression_import, "REFRESH_STATISTICS_ROWS", 50)
    target = suppression_import.ImportTarget(user_id=api.alice.user_id, actor_id=api.alice.user_id)
    data = "".join(f"stat{i}@stats.example\n" for i in range(120)).encode()
    postgres = api.db.dialect == "postgresql"
    if postgres:
        async with api.db.read() as session:
            started = await session.scalar(text("SELECT clock_timestamp()"))
    result = await suppression_import.import_stream(api.db, chunked(data, 512), target)
    assert result.added == 120
    if not postgres:
        return  # SQLite plans these statements well without statistics
    async with api.db.read() as session:
        # An explicit ANALYZE's time (autovacuum's own goes to last_autoanalyze).
        analyzed = await session.scalar(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'suppressions'")
        )
    assert analyzed is not None and analyzed >= started
