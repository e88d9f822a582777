"""Audit log tamper evidence (product.md §3.6): keyed hash chain, anchored heads, `audit verify`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from sendwarden.cli.main import app as cli_app
from sendwarden.storage import audit, audit_chain, instance
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from sendwarden.storage.migrate import upgrade
from sendwarden.storage.models import AuditEntry, AuditHead
from tests.support import databases

runner = CliRunner()
HEAD_LINE = re.compile(r"^head: (\d+) ([0-9a-f]{64})$")


async def _append(db: Database, n: int, user_id: int = 1) -> None:
    for i in range(n):
        async with db.transaction() as session:
            await audit.append(
                session,
                audit.AuditRecord(
                    event="policy_check",
                    user_id=user_id,
                    lead_email=f"lead{i}@example.com",
                    policy_result="approved",
                    reason="All checks passed",
                    details={"i": i},
                ),
            )


async def _verify(db: Database, expect: tuple[int, str] | None = None) -> audit_chain.ChainReport:
    async with db.transaction() as session:
        return await audit_chain.verify_chain(session, expect_head=expect)


async def _head(db: Database) -> tuple[int, str]:
    report = await _verify(db)
    assert report.ok, report
    return report.head_seq, report.head_hash


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in audit_chain._HASHED_FIELDS}


async def _rewrite_from(db: Database, seq: int, rehash: Any, *, version: int | None = None) -> None:
    """An attacker with database access: edit entry `seq`, recompute every later hash with
    `rehash`, and fix the head row so that the links and the head all agree."""
    async with db.transaction() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
        prev = audit_chain.GENESIS_HASH
        for entry in entries:
            if entry.seq == seq:
                entry.reason = "nothing to see"
            if version is not None:
                entry.chain_version = version
            if entry.seq >= seq or version is not None:
                entry.prev_hash = prev
                entry.entry_hash = rehash(_fields(entry))
            prev = entry.entry_hash
        await session.execute(update(AuditHead).values(last_hash=prev, chain_version=version or 2))


async def test_audit_chain_verifies_when_untouched(db: Database) -> None:
    await _append(db, 5)
    report = await _verify(db)
    assert report.ok and report.entries_checked == 5
    async with db.transaction() as session:
        assert await audit_chain.current_head(session) == (report.head_seq, report.head_hash)
    assert report.head_seq == 5 and report.head_line == f"head: 5 {report.head_hash}"


async def test_audit_chain_detects_edited_row(db: Database) -> None:
    await _append(db, 5)
    async with db.transaction() as session:
        await session.execute(
            update(AuditEntry).where(AuditEntry.seq == 3).values(reason="nothing to see")
        )
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 3
    assert "edited" in (report.problem or "")


async def test_audit_chain_detects_edit_rehashed_with_plain_sha256(db: Database) -> None:
    await _append(db, 5)
    await _rewrite_from(db, 2, lambda f: hashlib.sha256(audit_chain._canonical(f)).hexdigest())
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 2
    assert "without the key" in (report.problem or "")


async def test_audit_chain_detects_edit_rehashed_with_a_wrong_key(db: Database) -> None:
    await _append(db, 5)
    await _rewrite_from(db, 3, lambda f: audit_chain.keyed_digest_of(f, b"w" * 32))
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 3


async def test_audit_chain_detects_downgrade_to_unkeyed_hashes(db: Database) -> None:
    """Marking every entry as legacy and rehashing it with SHA-256 is not a sealed chain."""
    await _append(db, 5)
    await _rewrite_from(db, 2, audit_chain.legacy_digest_of, version=audit_chain.LEGACY_CHAIN)
    report = await _verify(db)
    assert not report.ok and "never sealed" in (report.problem or "")
    # and the service does not seal it on its own at the next append
    with pytest.raises(audit_chain.AuditChainError, match="sendwarden migrate"):
        await _append(db, 1)


async def test_audit_chain_detects_deleted_row(db: Database) -> None:
    await _append(db, 5)
    async with db.transaction() as session:
        await session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 2
    assert "deleted" in (report.problem or "")


async def test_audit_chain_detects_deleted_last_row(db: Database) -> None:
    await _append(db, 5)
    async with db.transaction() as session:
        await session.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 5


async def test_expect_head_detects_truncation_with_fixed_head(db: Database) -> None:
    await _append(db, 6)
    recorded = await _head(db)
    async with db.transaction() as session:
        kept = await session.get(AuditEntry, 4)
        assert kept is not None
        await session.execute(delete(AuditEntry).where(AuditEntry.seq > 4))
        await session.execute(update(AuditHead).values(last_seq=4, last_hash=kept.entry_hash))
    assert (await _verify(db)).ok  # the chain itself is consistent: only the anchor knows
    report = await _verify(db, recorded)
    assert not report.ok and "truncation" in (report.problem or "")


async def test_expect_head_detects_wholesale_deletion(db: Database) -> None:
    await _append(db, 3)
    recorded = await _head(db)
    async with db.transaction() as session:
        await session.execute(delete(AuditEntry))
        await session.execute(
            update(AuditHead).values(last_seq=0, last_hash=audit_chain.GENESIS_HASH)
        )
    report = await _verify(db, recorded)
    assert not report.ok and report.entries_checked == 0


async def test_expect_head_detects_rewrite_up_to_the_recorded_head(db: Database) -> None:
    """Even with the key (a leaked key, a wrong restore) the recorded hash must still match."""
    await _append(db, 4)
    recorded = await _head(db)
    key = db.audit_key.value()
    await _rewrite_from(db, 2, lambda f: audit_chain.keyed_digest_of(f, key))
    assert (await _verify(db)).ok
    report = await _verify(db, recorded)
    assert not report.ok and report.first_broken_seq == 4 and "rewritten" in (report.problem or "")


async def test_expect_head_passes_on_an_untouched_growing_chain(db: Database) -> None:
    await _append(db, 3)
    earlier = await _head(db)
    await _append(db, 4)
    assert (await _verify(db, earlier)).ok
    assert (await _verify(db, (0, audit_chain.GENESIS_HASH))).ok
    assert (await _verify(db, await _head(db))).ok


async def test_audit_chain_stays_linear_under_concurrent_writers(db: Database) -> None:
    await asyncio.gather(*(_append(db, 4, user_id=i) for i in range(12)))
    report = await _verify(db)
    assert report.ok and report.entries_checked == 48
    async with db.transaction() as session:
        seqs = (
            (await session.execute(text("SELECT seq FROM audit_entries ORDER BY seq")))
            .scalars()
            .all()
        )
    assert list(seqs) == list(range(1, 49))


def test_parse_head_accepts_the_printed_line_and_seq_colon_hash() -> None:
    digest = "ab" * 32
    assert audit_chain.parse_head(f"7:{digest}") == (7, digest)
    assert audit_chain.parse_head(f"head: 7 {digest}") == (7, digest)
    for bad in ("7", f"x:{digest}", "7:abc", f"7:{'g' * 64}"):
        with pytest.raises(ValueError, match="SEQ:HASH"):
            audit_chain.parse_head(bad)


# --- where the key comes from -------------------------------------------------------


async def test_audit_key_file_is_created_0600_next_to_sqlite_and_is_not_the_db_secret(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = Database(sqlite_url)
    try:
        await _append(db, 2)
        key_file = tmp_path / "sendwarden.db.audit-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        async with db.transaction() as session:
            db_secret = await instance.get_or_create_secret(session)
        assert db.audit_key.value() == bytes.fromhex(key_file.read_text().strip())
        assert db.audit_key.value() != db_secret
    finally:
        await db.dispose()
    # Another process opening the same database reads the same key: the chain verifies.
    again = Database(sqlite_url)
    try:
        assert (await _verify(again)).ok
    finally:
        await again.dispose()
    # Without the key (another one), nothing verifies.
    other = Database(sqlite_url, audit_key=AuditKey(sqlite_url, key=b"k" * 32))
    try:
        assert not (await _verify(other)).ok
    finally:
        await other.dispose()


def test_audit_key_from_secret_differs_per_secret_and_from_the_secret() -> None:
    url = "postgresql+asyncpg://x@127.0.0.1/db"
    one = AuditKey(url, secret=b"secret-one").value()
    assert one == AuditKey(url, secret=b"secret-one").value()
    assert one != AuditKey(url, secret=b"secret-two").value()
    assert b"secret-one" not in one


def test_configured_key_file_wins_over_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit.key"
    key = AuditKey("sqlite+aiosqlite:///x.db", secret=b"s", key_file=path)
    value = key.value()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert value != AuditKey("sqlite+aiosqlite:///x.db", secret=b"s").value()
    assert "audit.key" in key.source and value.hex() not in key.source


# --- the CLI: head line, --expect-head ------------------------------------------------


def _cli(url: str, *args: str) -> Any:
    return runner.invoke(cli_app, ["--database-url", url, *args])


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SENDWARDEN_SECRET_KEY", "SENDWARDEN_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


async def test_audit_verify_prints_head_last_and_expect_head_detects_truncation(
    sqlite_url: str, cli_env: None
) -> None:
    db = Database(sqlite_url)
    try:
        await _append(db, 4)
    finally:
        await db.dispose()
    result = await asyncio.to_thread(_cli, sqlite_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    match = HEAD_LINE.match(last)
    assert match and match.group(1) == "4", last
    recorded = f"{match.group(1)}:{match.group(2)}"
    again = await asyncio.to_thread(_cli, sqlite_url, "audit", "verify", "--expect-head", recorded)
    assert again.exit_code == 0 and again.stdout.splitlines()[-1] == last
    as_printed = await asyncio.to_thread(_cli, sqlite_url, "audit", "verify", "--expect-head", last)
    assert as_printed.exit_code == 0

    db = Database(sqlite_url)
    try:
        async with db.transaction() as session:
            kept = await session.get(AuditEntry, 3)
            assert kept is not None
            await session.execute(delete(AuditEntry).where(AuditEntry.seq == 4))
            await session.execute(update(AuditHead).values(last_seq=3, last_hash=kept.entry_hash))
    finally:
        await db.dispose()
    cut = await asyncio.to_thread(_cli, sqlite_url, "audit", "verify", "--expect-head", recorded)
    assert cut.exit_code == 1 and "truncation" in cut.stderr and "Traceback" not in cut.output
    assert "head:" not in cut.stdout  # a broken chain's head is never offered for recording
    bad = await asyncio.to_thread(_cli, sqlite_url, "audit", "verify", "--expect-head", "3:nope")
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.output


# --- upgrading a chain written with plain SHA-256 -------------------------------------


def _old_algorithm_hash(row: dict[str, Any]) -> str:
    """The hash as the code before keyed chains computed it (copied, not imported)."""
    payload = {name: row[name] for name in audit_chain._HASHED_FIELDS}
    payload["created_at"] = row["created_at"].isoformat(timespec="microseconds")
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _write_legacy_chain(url: str, n: int) -> None:
    """Entries as revision 0003 stored them: no chain_version column yet."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            prev = audit_chain.GENESIS_HASH
            for seq in range(1, n + 1):
                row: dict[str, Any] = {
                    "seq": seq,
                    "created_at": datetime(2026, 11, 1, 12, seq, tzinfo=UTC),
                    "event": "policy_check",
                    "user_id": 1,
                    "lead_email": f"old{seq}@example.com",
                    "sender_email": "a@sender.example",
                    "requested_sender_email": None,
                    "subject": "Hello",
                    "policy_result": "approved",
                    "reason": "All checks passed",
                    "legal_basis": "legitimate_interest",
                    "region": "US",
                    "attempt_id": None,
                    "details": "{}",
                    "prev_hash": prev,
                }
                row["entry_hash"] = prev = _old_algorithm_hash(row)
                columns = ", ".join(row)
                values = ", ".join(f":{c}" for c in row)
                await session.execute(
                    text(f"INSERT INTO audit_entries ({columns}) VALUES ({values})"),
                    {
                        **row,
                        "created_at": row["created_at"].replace(tzinfo=None).isoformat(sep=" "),
                    },
                )
            await session.execute(
                text("UPDATE audit_head SET last_seq = :n, last_hash = :h"), {"n": n, "h": prev}
            )
    finally:
        await db.dispose()


@pytest.fixture
def legacy_url(tmp_path: Path) -> str:
    url = databases.sqlite_url(tmp_path / "legacy.db")
    upgrade(url, "0003")
    return url


async def test_legacy_chain_is_sealed_by_migrate_and_then_verifies(
    legacy_url: str, cli_env: None
) -> None:
    await _write_legacy_chain(legacy_url, 5)
    await asyncio.to_thread(upgrade, legacy_url, "head")
    db = Database(legacy_url)
    try:
        unsealed = await _verify(db)
        assert not unsealed.ok and "never sealed" in (unsealed.problem or "")
        with pytest.raises(audit_chain.AuditChainError):
            await _append(db, 1)
    finally:
        await db.dispose()

    migrated = await asyncio.to_thread(_cli, legacy_url, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "Sealed 5 audit entries" in migrated.stderr
    again = await asyncio.to_thread(_cli, legacy_url, "migrate")
    assert again.exit_code == 0 and "Sealed" not in again.stderr  # idempotent

    db = Database(legacy_url)
    try:
        await _append(db, 2)
        report = await _verify(db)
        assert report.ok and report.entries_checked == 8 and report.legacy_entries == 5
        async with db.transaction() as session:
            seal = await session.get(AuditEntry, 6)
            assert seal is not None and seal.event == audit_chain.SEAL_EVENT
            assert json.loads(seal.details)["legacy_entries"] == 5
        # The sealed legacy prefix is still tamper-evident: the seal's HMAC pins it.
        await _rewrite_from(db, 2, audit_chain.legacy_digest_of, version=None)
        broken = await _verify(db)
        assert not broken.ok and broken.first_broken_seq == 6  # the seal no longer matches
    finally:
        await db.dispose()
    result = await asyncio.to_thread(_cli, legacy_url, "audit", "verify")
    assert result.exit_code == 1


async def test_fresh_database_needs_no_seal(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.transaction() as session:
            assert await audit.seal_legacy_chain(session) == 0
        await _append(db, 1)
        report = await _verify(db)
        assert report.ok and report.legacy_entries == 0 and report.entries_checked == 1
    finally:
        await db.dispose()
