"""POST /policy/validate, group-committed like sends: concurrent validates share one
transaction (the checks' three reads for all of them, then one audit append of
all their entries), instead of a transaction and ~9 statements each.

Every caller's audit entry is committed before it gets its answer, as before:
only the number of transactions and statements per request goes down.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from sendwarden.policy import PolicyDecision
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings
from sendwarden.services.group_commit import GroupCommit
from sendwarden.services.policy_check import CheckRequest
from sendwarden.storage import audit
from sendwarden.storage.db import Database


class ValidationBatcher:
    def __init__(self, db: Database, policy: PolicySettings) -> None:
        self._db = db
        self._policy = policy
        self._group: GroupCommit[CheckRequest, PolicyDecision] = GroupCommit(self._run)

    async def validate(self, request: CheckRequest) -> PolicyDecision:
        return await self._group.submit(request)

    async def _run(self, requests: list[CheckRequest]) -> Sequence[PolicyDecision | BaseException]:
        async with self._db.transaction() as session:
            outcomes = await policy_check.check_many(session, requests, settings=self._policy)
            records = [
                policy_check.audit_record(
                    outcome,
                    user_id=request.user_id,
                    subject=request.subject,
                    attempt_id=None,
                    event="policy_validate",
                )
                for request, outcome in zip(requests, outcomes, strict=True)
                if isinstance(outcome, PolicyDecision)
            ]
            await audit.append_many(session, records)
        return outcomes


_BATCHERS: weakref.WeakKeyDictionary[Database, ValidationBatcher] = weakref.WeakKeyDictionary()


def batcher_for(db: Database, policy: PolicySettings) -> ValidationBatcher:
    """One batcher per database (per app): requests on it share transactions."""
    found = _BATCHERS.get(db)
    if found is None:
        found = _BATCHERS[db] = ValidationBatcher(db, policy)
    return found
