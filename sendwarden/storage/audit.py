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

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.dialect import table_of
from sendwarden.storage.models import AuditEntry, AuditHead
from sendwarden.storage.pagination import page
from sendwarden.storage.types import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1
LEGACY_CHAIN = 1  # plain SHA-256 (before migration 0004b)
KEYED_CHAIN = 2  # HMAC-SHA256 under the audit key
SEAL_EVENT = "audit_chain_sealed"
AUDIT_KEY_INFO = "sendwarden_audit_key"  # Session.info slot the Database fills


class AuditChainError(RuntimeError):
    """The chain cannot be appended to as it is (legacy entries not sealed yet)."""


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


def _canonical(fields: Mapping[str, Any]) -> bytes:
    payload = {name: fields[name] for name in _HASHED_FIELDS}
    payload["created_at"] = fields["created_at"].isoformat(timespec="microseconds")
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return canonical.encode()


def legacy_digest_of(fields: Mapping[str, Any]) -> str:
    """The version-1 hash: plain SHA-256, recomputable by anyone (verification only)."""
    return hashlib.sha256(_canonical(fields)).hexdigest()


def keyed_digest_of(fields: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(fields), hashlib.sha256).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _HASHED_FIELDS}


def audit_key_of(session: AsyncSession) -> bytes:
    source = session.info.get(AUDIT_KEY_INFO)
    if source is None:
        raise AuditChainError("this session carries no audit key (open it through Database)")
    key: bytes = source.value()
    return key


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
class ChainReport:
    ok: bool
    entries_checked: int
    first_broken_seq: int | None = None
    problem: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    legacy_entries: int = 0

    @property
    def head_line(self) -> str:
        """The anchor operators record elsewhere: `head: <seq> <hash>`."""
        return f"head: {self.head_seq} {self.head_hash}"


def parse_head(value: str) -> tuple[int, str]:
    """`SEQ:HASH` (or the `head: SEQ HASH` line itself) -> (seq, hash)."""
    text = value.strip().removeprefix("head:").strip()
    seq_text, _, digest = text.replace(" ", ":", 1).partition(":")
    digest = digest.strip().lower()
    if (
        not seq_text.isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ValueError(f"{value!r} is not SEQ:HASH (a sequence number and 64 hex digits)")
    return int(seq_text), digest


class _Walk:
    """State of one pass over the chain, in seq order."""

    def __init__(self, key: bytes, expect_head: tuple[int, str] | None) -> None:
        self.key = key
        self.expect = expect_head
        self.prev = GENESIS_HASH
        self.seq = 0
        self.legacy = 0
        self.keyed = 0
        self.expect_met = expect_head is None or expect_head == (0, GENESIS_HASH)

    def fail(self, seq: int | None, problem: str) -> ChainReport:
        return ChainReport(False, self.seq, seq, problem, legacy_entries=self.legacy)

    def check(self, entry: AuditEntry) -> ChainReport | None:
        expected_seq = self.seq + 1
        if entry.seq != expected_seq:
            return self.fail(expected_seq, f"entry {expected_seq} is missing (deleted)")
        if entry.prev_hash != self.prev:
            return self.fail(entry.seq, "link to the previous entry is broken")
        if entry.chain_version == LEGACY_CHAIN:
            if self.keyed:
                return self.fail(entry.seq, "an unkeyed (plain SHA-256) entry follows keyed ones")
            digest = legacy_digest_of(_fields(entry))
        else:
            if self.legacy and not self.keyed and entry.event != SEAL_EVENT:
                return self.fail(entry.seq, "the unkeyed entries before it were never sealed")
            digest = keyed_digest_of(_fields(entry), self.key)
        if not hmac.compare_digest(digest, entry.entry_hash):
            return self.fail(
                entry.seq,
                "entry content does not match its hash (edited, or rehashed without the key)",
            )
        if entry.chain_version == LEGACY_CHAIN:
            self.legacy += 1
        else:
            self.keyed += 1
        if self.expect is not None and entry.seq == self.expect[0]:
            if entry.entry_hash != self.expect[1]:
                return self.fail(
                    entry.seq, "the entry at the recorded head has another hash (rewritten)"
                )
            self.expect_met = True
        self.prev = entry.entry_hash
        self.seq = entry.seq
        return None


async def verify_chain(
    session: AsyncSession,
    *,
    batch_size: int = 1000,
    expect_head: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk the chain from the genesis; report the first link that does not hold.

    `expect_head` (seq, hash), recorded outside the database earlier, must still be
    on the chain: a chain cut back before it, or rewritten up to it, fails.
    """
    walk = _Walk(audit_key_of(session), expect_head)
    while True:
        rows: Sequence[AuditEntry] = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.seq > walk.seq)
                .order_by(AuditEntry.seq)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            break
        for entry in rows:
            broken = walk.check(entry)
            if broken is not None:
                return broken
    if walk.legacy and not walk.keyed:
        return walk.fail(
            walk.seq + 1,
            f"{walk.legacy} entries use unkeyed hashes and were never sealed"
            " (run `sendwarden migrate`)",
        )
    head = await session.get(AuditHead, HEAD_ID)
    if head is None:
        return walk.fail(None, "the audit head row is missing")
    if head.last_seq != walk.seq or head.last_hash != walk.prev:
        return walk.fail(
            walk.seq + 1,
            f"chain ends at entry {walk.seq} but the head records entry {head.last_seq}"
            " (entries at the end were deleted or the head was altered)",
        )
    if not walk.expect_met:
        assert expect_head is not None
        return walk.fail(
            walk.seq + 1,
            f"chain ends at entry {walk.seq}, before the recorded head {expect_head[0]}"
            " (entries were deleted: truncation)",
        )
    return ChainReport(True, walk.seq, None, None, walk.seq, walk.prev, walk.legacy)


async def current_head(session: AsyncSession) -> tuple[int, str]:
    """The head row as stored (unverified: `verify_chain` checks it)."""
    head = await session.get(AuditHead, HEAD_ID)
    return (0, GENESIS_HASH) if head is None else (head.last_seq, head.last_hash)


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
