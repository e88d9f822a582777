"""The audit chain's hashes: how an entry is hashed, and the walk that verifies them all.

Each entry's hash is an HMAC-SHA256, under a key kept outside the database
(`storage.audit_key`), of its own fields and the previous entry's hash
(`keyed_digest_of`); `verify_chain` walks the chain from the genesis and reports
the first link that does not hold, and checks it reaches a head the operator
recorded elsewhere. Appending lives in storage.audit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
HEAD_ID = 1
LEGACY_CHAIN = 1  # plain SHA-256 (before migration 0004b)
KEYED_CHAIN = 2  # HMAC-SHA256 under the audit key
SEAL_EVENT = "audit_chain_sealed"
AUDIT_KEY_INFO = "sendwarden_audit_key"  # Session.info slot the Database fills


class AuditChainError(RuntimeError):
    """The chain cannot be appended to as it is (legacy entries not sealed yet)."""


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
