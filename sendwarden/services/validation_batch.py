"""POST /policy/validate, group-committed like sends: concurrent validates share one
transaction (the checks' three reads for all of them, then one audit append of
all their entries), instead of a transaction and ~9 statements each.

Every caller's audit entry is committed before it gets its answer, as before:
only the number of transactions and statements per request goes down. The
caller's API key may come from the edge's cache (`KeyChecker.check_provisional`):
the batch confirms every key in its own transaction, so a revoked key does
nothing and gets `KeyRevoked`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import PolicyDecision
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.services.errors import KeyRevoked
from sendwarden.services.group_commit import GroupCommit
from sendwarden.services.policy_check import CheckRequest
from sendwarden.storage import audit, users
from sendwarden.storage.db import Database


@dataclass(frozen=True)
class _Item:
    request: CheckRequest
    key_id: int | None  # None: the caller already checked the key in full


class ValidationBatcher:
    def __init__(self, db: Database, policy: PolicySettings) -> None:
        self._db = db
        self._policy = policy
        self._group: GroupCommit[_Item, PolicyDecision] = GroupCommit(self._run, kind="validate")

    async def validate(self, request: CheckRequest, *, key_id: int | None = None) -> PolicyDecision:
        """The decision, audited; `KeyRevoked` if `key_id` is no longer valid."""
        return await self._group.submit(_Item(request, key_id))

    async def _run(self, items: list[_Item]) -> Sequence[PolicyDecision | BaseException]:
        return await self._db.run_transaction(lambda session: self._check_and_audit(session, items))

    async def _check_and_audit(
        self, session: AsyncSession, items: list[_Item]
    ) -> Sequence[PolicyDecision | BaseException]:
        """Only statements on `session` are awaited here (`Database.run_transaction`)."""
        claimed = [item.key_id for item in items if item.key_id is not None]
        active = await users.active_key_ids(session, claimed)
        allowed = [item for item in items if item.key_id is None or item.key_id in active]
        checked = await policy_check.check_many(
            session, [item.request for item in allowed], settings=self._policy
        )
        records = [
            policy_check.audit_record(
                outcome,
                user_id=item.request.user_id,
                subject=item.request.subject,
                attempt_id=None,
                event="policy_validate",
            )
            for item, outcome in zip(allowed, checked, strict=True)
            if isinstance(outcome, PolicyDecision)
        ]
        await audit.append_many(session, records)
        outcomes = dict(zip(map(id, allowed), checked, strict=True))
        return [outcomes.get(id(item), KeyRevoked("Invalid or revoked API key")) for item in items]


_BATCHERS: weakref.WeakKeyDictionary[Database, ValidationBatcher] = weakref.WeakKeyDictionary()


def batcher_for(db: Database, policy: PolicySettings) -> ValidationBatcher:
    """One batcher per database (per app): requests on it share transactions."""
    found = _BATCHERS.get(db)
    if found is None:
        found = _BATCHERS[db] = ValidationBatcher(db, policy)
    return found
