"""Concurrent validates share transactions, and each is still audited before it answers."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from sendwarden.policy import PolicyDecision
from sendwarden.services.errors import InvalidInput
from sendwarden.services.policy_check import CheckRequest
from sendwarden.services.validation_batch import batcher_for
from sendwarden.storage.audit_chain import verify_chain
from sendwarden.storage.models import AuditEntry
from tests.support.api_helpers import API
from tests.support.harness import ApiHarness


async def test_concurrent_validates_are_group_committed_and_each_audited(api: ApiHarness) -> None:
    state = api.client._transport.app.state.sendwarden  # type: ignore[attr-defined]
    batcher = batcher_for(state.db, state.policy)
    before = batcher._group.batches

    async def one(i: int, who: str) -> dict[str, object]:
        tenant = getattr(api, who)
        r = await api.client.post(
            f"{API}/policy/validate",
            json={"recipient_email": f"r{i}@batch{i}.example", "subject": f"s{i}"},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    answers = await asyncio.gather(*(one(i, "alice" if i % 2 else "bob") for i in range(24)))
    assert [a["recipient_email"] for a in answers] == [f"r{i}@batch{i}.example" for i in range(24)]
    assert batcher._group.batches - before < 24  # shared transactions
    async with api.db.transaction() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.event == "policy_validate"))
        ).all()
        chain = await verify_chain(session)
    assert chain.ok
    by_recipient = {e.lead_email: e for e in entries}
    for i in range(24):
        entry = by_recipient[f"r{i}@batch{i}.example"]
        assert entry.subject == f"s{i}"
        assert entry.user_id == (api.alice if i % 2 else api.bob).user_id
        assert json.loads(entry.details) is not None


async def test_a_bad_validate_in_a_batch_fails_alone(api: ApiHarness) -> None:
    state = api.client._transport.app.state.sendwarden  # type: ignore[attr-defined]
    batcher = batcher_for(state.db, state.policy)
    user = api.alice.user_id
    outcomes = await asyncio.gather(
        *(
            batcher.validate(CheckRequest(user, recipient, None, "s", None))
            for recipient in ["a@x.example", "not an address", "b@y.example"]
        ),
        return_exceptions=True,
    )
    good_a, bad, good_b = outcomes
    assert isinstance(bad, InvalidInput) and bad.field == "recipient_email"
    assert isinstance(good_a, PolicyDecision) and isinstance(good_b, PolicyDecision)
    async with api.db.transaction() as session:
        audited = (
            await session.scalars(
                select(AuditEntry.lead_email).where(AuditEntry.event == "policy_validate")
            )
        ).all()
    assert sorted(audited) == ["a@x.example", "b@y.example"]
