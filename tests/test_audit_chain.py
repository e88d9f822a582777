"""Audit log tamper evidence (product.md §3.6): hash chain and `audit verify`."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, text, update

from sendwarden.storage import audit
from sendwarden.storage.db import Database
from sendwarden.storage.models import AuditEntry


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


async def _verify(db: Database) -> audit.ChainReport:
    async with db.transaction() as session:
        return await audit.verify_chain(session)


async def test_audit_chain_verifies_when_untouched(db: Database) -> None:
    await _append(db, 5)
    report = await _verify(db)
    assert report.ok and report.entries_checked == 5


async def test_audit_chain_detects_edited_row(db: Database) -> None:
    await _append(db, 5)
    async with db.transaction() as session:
        await session.execute(
            update(AuditEntry).where(AuditEntry.seq == 3).values(reason="nothing to see")
        )
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 3
    assert "edited" in (report.problem or "")


async def test_audit_chain_detects_rehashed_edit(db: Database) -> None:
    """Recomputing the edited row's own hash still breaks the next link."""
    await _append(db, 5)
    async with db.transaction() as session:
        entry = await session.get(AuditEntry, 2)
        assert entry is not None
        entry.reason = "forged"
        entry.entry_hash = audit._digest(entry)
    report = await _verify(db)
    assert not report.ok and report.first_broken_seq == 3


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
