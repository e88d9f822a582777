"""Group-committed send transactions (services/send/): concurrent sends share the
decision and bookkeeping transactions without changing what any single send does."""

from __future__ import annotations

import asyncio
import email
import json
from email import policy
from typing import Any

import pytest
from sqlalchemy import func, select

from sendwarden.services.send import SendPipeline, SendRequest, SendResult
from sendwarden.storage import attempts as attempts_storage
from sendwarden.storage.audit_chain import verify_chain
from sendwarden.storage.models import Attempt, AuditEntry, DuplicateKey
from tests.support.api_helpers import API, make_campaign, make_lead
from tests.support.harness import ApiHarness, AppFactory, smtp_settings
from tests.support.live_server import counter_totals
from tests.support.smtp_server import FaultyServer


async def harness(api_factory: AppFactory, smtp: FaultyServer, **settings: Any) -> ApiHarness:
    return await api_factory(**smtp_settings(smtp), **settings)


async def leads(app: ApiHarness, emails: list[str]) -> tuple[int, list[int]]:
    campaign = await make_campaign(app.client, app.alice.headers)
    ids = [await make_lead(app.client, app.alice.headers, campaign, e) for e in emails]
    return campaign, ids


def request(campaign: int, lead: int, subject: str = "Guest post idea") -> SendRequest:
    return SendRequest(campaign_id=campaign, lead_id=lead, subject=subject, body="Hello\n")


async def send_together(
    pipeline: SendPipeline, user_id: int, requests: list[SendRequest]
) -> list[SendResult | BaseException]:
    """Submitted in one go, so that the decisions share one batch."""
    return await asyncio.gather(
        *(pipeline.send(user_id, r) for r in requests), return_exceptions=True
    )


async def rows(app: ApiHarness, model: Any) -> int:
    async with app.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def chain_ok(app: ApiHarness) -> bool:
    async with app.db.transaction() as session:
        return (await verify_chain(session)).ok


async def test_concurrent_sends_share_decision_and_bookkeeping_transactions(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await harness(api_factory, smtp)
    emails = [f"editor{i}@site{i}.example" for i in range(24)]
    campaign, ids = await leads(app, emails)
    pipeline = await app.state.send_pipeline()
    results = await send_together(pipeline, app.alice.user_id, [request(campaign, i) for i in ids])
    assert all(isinstance(r, SendResult) and r.outcome == "sent" for r in results), results
    assert pipeline._deciding.batches == 1  # all 24 decided in one transaction
    # How many bookkeeping batches form depends on when SMTP answers; all 24 went through.
    assert pipeline._recording.items == 24
    received = {
        str(email.message_from_bytes(m.raw, policy=policy.default)["Message-ID"])
        for m in smtp.wait_for(24)
    }
    stored = {r.attempt.message_id for r in results if isinstance(r, SendResult)}
    assert received == stored
    async with app.db.transaction() as session:
        statuses = (await session.scalars(select(Attempt.status))).all()
        assert sorted(statuses) == ["sent"] * 24
        totals = await counter_totals(session, app.alice.user_id)
    assert totals[("user", "")] == 24
    assert await rows(app, AuditEntry) == 24 and await chain_ok(app)
    listed = await app.client.get(f"{API}/campaigns/{campaign}/leads", headers=app.alice.headers)
    assert {lead["status"] for lead in listed.json()["items"]} == {"contacted"}


async def test_a_request_that_breaks_the_shared_transaction_fails_alone(
    api_factory: AppFactory, smtp: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await harness(api_factory, smtp)
    campaign, ids = await leads(app, [f"editor{i}@site{i}.example" for i in range(6)])
    real_insert = attempts_storage.insert_attempts

    async def insert_or_break(session: Any, rows: list[dict[str, Any]]) -> list[Attempt]:
        if any(row["subject"] == "poison" for row in rows):
            raise RuntimeError("injected failure while writing")
        return await real_insert(session, rows)

    monkeypatch.setattr(attempts_storage, "insert_attempts", insert_or_break)
    pipeline = await app.state.send_pipeline()
    requests = [
        request(campaign, i, "poison" if n == 3 else "Guest post idea") for n, i in enumerate(ids)
    ]
    results = await send_together(pipeline, app.alice.user_id, requests)
    assert isinstance(results[3], RuntimeError)
    good = [r for n, r in enumerate(results) if n != 3]
    assert all(isinstance(r, SendResult) and r.outcome == "sent" for r in good), results
    # The shared transaction rolled back and every request was decided again alone.
    assert pipeline._deciding.batches == 1
    assert len(smtp.wait_for(5)) == 5
    await asyncio.sleep(0.1)
    assert len(smtp.messages) == 5
    async with app.db.transaction() as session:
        subjects = (await session.scalars(select(Attempt.subject))).all()
        totals = await counter_totals(session, app.alice.user_id)
    assert "poison" not in subjects and len(subjects) == 5  # nothing of it was written
    assert totals[("user", "")] == 5
    assert await rows(app, DuplicateKey) == 5
    assert await rows(app, AuditEntry) == 5 and await chain_ok(app)


async def test_lost_reservation_race_is_explained_by_its_failing_check(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await harness(api_factory, smtp, sendwarden_domain_daily_cap=1)
    campaign, ids = await leads(app, [f"editor{i}@same.example" for i in range(5)])
    pipeline = await app.state.send_pipeline()
    # All five read a domain count of 0 before any reserved: the upserts decide.
    results = await send_together(pipeline, app.alice.user_id, [request(campaign, i) for i in ids])
    outcomes = [r.outcome for r in results if isinstance(r, SendResult)]
    assert sorted(outcomes) == ["blocked"] * 4 + ["sent"]
    for result in results:
        assert isinstance(result, SendResult)
        if result.outcome != "blocked":
            continue
        failing = [c for c in result.decision.checks if not c.passed]
        assert [c.name for c in failing] == ["daily_domain_cap"]
        assert result.attempt.reason == failing[0].detail
        assert "same.example reached: 1/1" in result.attempt.reason
        stored = await app.client.get(
            f"{API}/attempts/{result.attempt.id}", headers=app.alice.headers
        )
        checks = {c["name"]: c["passed"] for c in stored.json()["checks"]}
        assert checks["daily_domain_cap"] is False and stored.json()["status"] == "blocked"
        assert stored.json()["message_id"] is None
    async with app.db.transaction() as session:
        totals = await counter_totals(session, app.alice.user_id)
    # The refused domain slots gave their user slots back.
    assert totals == {("user", ""): 1, ("domain", "same.example"): 1}
    assert len(smtp.wait_for(1)) == 1 and await chain_ok(app)


async def test_identical_sends_in_one_batch_deliver_once_and_give_slots_back(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await harness(api_factory, smtp)
    campaign, [lead] = await leads(app, ["once@example.net"])
    pipeline = await app.state.send_pipeline()
    results = await send_together(
        pipeline, app.alice.user_id, [request(campaign, lead) for _ in range(6)]
    )
    assert all(isinstance(r, SendResult) for r in results)
    outcomes = sorted(r.outcome for r in results if isinstance(r, SendResult))
    assert outcomes == ["in_flight"] * 5 + ["sent"]
    for result in results:
        assert isinstance(result, SendResult)
        if result.outcome == "in_flight":
            assert [c.name for c in result.decision.checks if not c.passed] == ["idempotency"]
    async with app.db.transaction() as session:
        totals = await counter_totals(session, app.alice.user_id)
        checks = [json.loads(c) for c in (await session.scalars(select(Attempt.checks))).all()]
    assert totals == {("user", ""): 1, ("domain", "example.net"): 1}
    assert sum(1 for c in checks if all(x["passed"] for x in c)) == 1
    await asyncio.sleep(0.1)
    assert len(smtp.messages) == 1
