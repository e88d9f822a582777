"""Append-only, keyed hash-chained audit log (product.md §3.6).

Each entry's hash is an HMAC-SHA256, under a key kept outside the database
(`storage.audit_key`), of its own fields and the previous entry's hash; the
single `audit_head` row records the tip of the chain. Whoever can only write to
the database can neither recompute a rewritten entry's HMAC nor forge later
ones; truncating the chain back to an earlier entry (and fixing the head row)
is caught against a head the operator recorded elsewhere (`verify_chain`'s
`expect_head`).

Appending starts by incrementing the head row, which takes its row lock
(PostgreSQL) or relies on the write lock (SQLite), so concurrent writers on any
number of processes or hosts queue up and the chain stays linear. Appends
therefore belong at the end of a transaction, after any other lock it takes.

Chains written before keyed hashes (`chain_version` 1: plain SHA-256) are kept
as they are and sealed once by `seal_legacy_chain` (run by `sendwarden
migrate`/`init`): the seal entry is keyed and links to the last legacy hash, so
it pins the whole legacy prefix. Legacy entries are accepted only as that
sealed prefix: never after a keyed entry, never without the seal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.audit_chain import (
    HEAD_ID,
    KEYED_CHAIN,
    LEGACY_CHAIN,
    SEAL_EVENT,
    AuditChainError,
    audit_key_of,
    keyed_digest_of,
)
from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import AuditEntry, AuditHead
from sendwarden.storage.pagination import page
from sendwarden.storage.types import utcnow


@dataclass(frozen=True)
class AuditRecord:
    event: str
    user_id: int | None
    lead_email: str | None = None
    sender_email: str | None = None
    requested_sender_email: str | None = None
    subject: str | None = None
    policy_result: str | None = None
    reason: str | None = None
    legal_basis: str | None = None
    region: str | None = None
    attempt_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


_ENTRIES = table_of(AuditEntry)
_HEADS = table_of(AuditHead)
# Built once: every send appends (see storage.daily_caps).
_ADVANCE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.id == HEAD_ID)
    .values(last_seq=_HEADS.c.last_seq + bindparam("count"))
    .returning(_HEADS.c.last_seq, _HEADS.c.last_hash, _HEADS.c.chain_version)
)
_SET_HEAD_HASH = (
    update(_HEADS)
    .where(_HEADS.c.id == HEAD_ID)
    .values(last_hash=bindparam("tip"), chain_version=KEYED_CHAIN)
)
_INSERT_ENTRY = insert(_ENTRIES)


async def append(session: AsyncSession, record: AuditRecord) -> None:
    await append_many(session, [record])


async def append_many(session: AsyncSession, records: Sequence[AuditRecord]) -> None:
    """Append `records` in order with three statements and one HMAC per entry."""
    if not records:
        return
    key = audit_key_of(session)
    head = (await session.execute(_ADVANCE_HEAD, {"count": len(records)})).one()
    seq = int(head[0]) - len(records)
    prev_hash = str(head[1])
    if head[2] == LEGACY_CHAIN and seq > 0 and records[0].event != SEAL_EVENT:
        # Never sealed here on the fly: whoever can reset the database to an all-legacy
        # chain would then have their rewritten, plainly hashed history sealed for them.
        raise AuditChainError(
            "the audit log holds entries from before keyed hashes: run `sendwarden migrate`"
        )
    now = utcnow()
    rows = []
    for record in records:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "created_at": now,
            "event": record.event,
            "user_id": record.user_id,
            "lead_email": record.lead_email,
            "sender_email": record.sender_email,
            "requested_sender_email": record.requested_sender_email,
            "subject": record.subject,
            "policy_result": record.policy_result,
            "reason": record.reason,
            "legal_basis": record.legal_basis,
            "region": record.region,
            "attempt_id": record.attempt_id,
            "details": json.dumps(record.details, sort_keys=True, ensure_ascii=False, default=str),
            "prev_hash": prev_hash,
            "chain_version": KEYED_CHAIN,
        }
        row["entry_hash"] = prev_hash = keyed_digest_of(row, key)
        rows.append(row)
    await session.execute(_INSERT_ENTRY, rows)
    await session.execute(_SET_HEAD_HASH, {"tip": prev_hash})


async def seal_legacy_chain(session: AsyncSession) -> int:
    """Seal a pre-keyed chain under the audit key; returns how many entries it sealed.

    Idempotent: a chain already keyed (or empty) is left alone and 0 returned.
    """
    head = (await session.execute(_ADVANCE_HEAD, {"count": 0})).one()  # takes the row lock
    last_seq, last_hash, version = int(head[0]), str(head[1]), int(head[2])
    if version != LEGACY_CHAIN:
        return 0
    if last_seq == 0:
        await session.execute(_SET_HEAD_HASH, {"tip": last_hash})
        return 0
    await append(
        session,
        AuditRecord(
            event=SEAL_EVENT,
            user_id=None,
            reason=f"entries 1-{last_seq} (plain SHA-256) sealed under the audit key",
            details={"legacy_entries": last_seq, "legacy_head": last_hash},
        ),
    )
    return last_seq


@dataclass(frozen=True)
class AuditFilter:
    user_id: int
    since: datetime | None = None
    until: datetime | None = None
    policy_result: str | None = None
    recipient: str | None = None
    event: str | None = None


def _conditions(f: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = [AuditEntry.user_id == f.user_id]
    if f.since is not None:
        conditions.append(AuditEntry.created_at >= f.since)
    if f.until is not None:
        conditions.append(AuditEntry.created_at < f.until)
    if f.policy_result is not None:
        conditions.append(AuditEntry.policy_result == f.policy_result)
    if f.recipient is not None:
        conditions.append(func.lower(AuditEntry.lead_email) == f.recipient.lower())
    if f.event is not None:
        conditions.append(AuditEntry.event == f.event)
    return conditions


async def list_entries(
    session: AsyncSession, f: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    return await page(
        session,
        AuditEntry,
        _conditions(f),
        order_by=AuditEntry.seq.desc(),
        limit=limit,
        offset=offset,
    )
