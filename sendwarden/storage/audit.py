"""Append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, and
the single `audit_head` row records the tip of the chain. Appending starts by
incrementing the head row, which takes its row lock (PostgreSQL) or relies on
the write lock (SQLite), so concurrent writers on any number of processes or
hosts queue up and the chain stays linear. Appends therefore belong at the
end of a transaction, after any other lock it takes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import AuditEntry, AuditHead
from sendwarden.storage.types import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


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


_HASHED_FIELDS = (
    "seq",
    "created_at",
    "event",
    "user_id",
    "lead_email",
    "sender_email",
    "requested_sender_email",
    "subject",
    "policy_result",
    "reason",
    "legal_basis",
    "region",
    "attempt_id",
    "details",
    "prev_hash",
)


def _digest_of(fields: Mapping[str, Any]) -> str:
    payload = {name: fields[name] for name in _HASHED_FIELDS}
    payload["created_at"] = fields["created_at"].isoformat(timespec="microseconds")
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _digest(entry: AuditEntry) -> str:
    return _digest_of({name: getattr(entry, name) for name in _HASHED_FIELDS})


_ENTRIES = table_of(AuditEntry)
_HEADS = table_of(AuditHead)
# Built once: every send appends (see storage.counters).
_ADVANCE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.id == HEAD_ID)
    .values(last_seq=_HEADS.c.last_seq + bindparam("count"))
    .returning(_HEADS.c.last_seq, _HEADS.c.last_hash)
)
_SET_HEAD_HASH = update(_HEADS).where(_HEADS.c.id == HEAD_ID).values(last_hash=bindparam("tip"))
_INSERT_ENTRY = insert(_ENTRIES)


async def append(session: AsyncSession, record: AuditRecord) -> None:
    await append_many(session, [record])


async def append_many(session: AsyncSession, records: Sequence[AuditRecord]) -> None:
    """Append `records` in order with three statements, however many there are."""
    if not records:
        return
    head = (await session.execute(_ADVANCE_HEAD, {"count": len(records)})).one()
    seq = int(head[0]) - len(records)
    prev_hash = str(head[1])
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
        }
        row["entry_hash"] = prev_hash = _digest_of(row)
        rows.append(row)
    await session.execute(_INSERT_ENTRY, rows)
    await session.execute(_SET_HEAD_HASH, {"tip": prev_hash})


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries_checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


async def verify_chain(session: AsyncSession, *, batch_size: int = 1000) -> ChainReport:
    """Walk the chain from the genesis; report the first link that does not hold."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seen = 0
    while True:
        rows: Sequence[AuditEntry] = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > last_seen)
                .order_by(AuditEntry.seq)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(
                    False, checked, expected_seq, f"entry {expected_seq} is missing (deleted)"
                )
            if entry.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, entry.seq, "link to the previous entry is broken"
                )
            if _digest(entry) != entry.entry_hash:
                return ChainReport(
                    False, checked, entry.seq, "entry content does not match its hash (edited)"
                )
            expected_prev = entry.entry_hash
            expected_seq += 1
            checked += 1
            last_seen = entry.seq
    head = await session.get(AuditHead, HEAD_ID)
    if head is None:
        return ChainReport(False, checked, None, "the audit head row is missing")
    if head.last_seq != checked or head.last_hash != expected_prev:
        return ChainReport(
            False,
            checked,
            checked + 1,
            f"chain ends at entry {checked} but the head records entry {head.last_seq}"
            " (entries at the end were deleted or the head was altered)",
        )
    return ChainReport(True, checked)


@dataclass(frozen=True)
class AuditFilter:
    user_id: int
    since: datetime | None = None
    until: datetime | None = None
    policy_result: str | None = None
    recipient: str | None = None
    event: str | None = None


def _filtered(query: Select[Any], f: AuditFilter) -> Select[Any]:
    query = query.where(AuditEntry.user_id == f.user_id)
    if f.since is not None:
        query = query.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEntry.created_at < f.until)
    if f.policy_result is not None:
        query = query.where(AuditEntry.policy_result == f.policy_result)
    if f.recipient is not None:
        query = query.where(func.lower(AuditEntry.lead_email) == f.recipient.lower())
    if f.event is not None:
        query = query.where(AuditEntry.event == f.event)
    return query


async def list_entries(
    session: AsyncSession, f: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    total = await session.scalar(_filtered(select(func.count()).select_from(AuditEntry), f))
    rows = await session.scalars(
        _filtered(select(AuditEntry), f).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total or 0)
