"""Whole-database snapshots, to prove that a rejected or failed request changed nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from sendwarden.storage.db import Database
from sendwarden.storage.models import ApiKey, AuditHead, Base

# Authentication records a key's last use (coarsely): bookkeeping, not a change of state.
VOLATILE_COLUMNS = frozenset({(ApiKey.__tablename__, "last_used_at")})


@dataclass(frozen=True)
class DbSnapshot:
    counts: dict[str, int]
    audit_head: tuple[int, str]
    rows: dict[str, list[tuple[str, ...]]]

    def differences(self, other: DbSnapshot) -> list[str]:
        """Human-readable list of what changed from self to other (empty: nothing)."""
        found: list[str] = []
        for table, count in self.counts.items():
            if other.counts.get(table) != count:
                found.append(f"{table}: {count} -> {other.counts.get(table)} rows")
            elif other.rows[table] != self.rows[table]:
                found.append(f"{table}: row contents changed")
        if self.audit_head != other.audit_head:
            found.append(f"audit head {self.audit_head} -> {other.audit_head}")
        return found


async def snapshot(db: Database) -> DbSnapshot:
    counts: dict[str, int] = {}
    rows: dict[str, list[tuple[str, ...]]] = {}
    async with db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            result = (await session.execute(select(*columns))).all()
            rows[table.name] = sorted(tuple(repr(v) for v in row) for row in result)
            counts[table.name] = len(result)
        head = await session.get(AuditHead, 1)
        assert head is not None, "the audit head row is missing"
        audit_head = (head.last_seq, head.last_hash)
    return DbSnapshot(counts, audit_head, rows)


async def all_text(db: Database) -> str:
    """Every value of every column of every table, as one searchable string."""
    state = await snapshot(db)
    return "\n".join(" | ".join(row) for table in state.rows.values() for row in table)
