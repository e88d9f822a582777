"""The send pipeline's stages at their seams, with a FakeTransport instead of SMTP.

Fast (no server, no HTTP): decide, compose, deliver and record are driven
through SendPipeline.send on a real (SQLite) database. Delivery against the real
STARTTLS+AUTH server is covered by tests/test_send_pipeline.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes

import pytest
from sqlalchemy import select

from sendwarden.policy import CheckName, PolicyInputs, SenderDecision, evaluate, lost_race
from sendwarden.services.context import PolicySettings
from sendwarden.services.leads import LeadInput, add_lead
from sendwarden.services.send import SendPipeline, SendRequest
from sendwarden.services.send.decide import Decided, Decider
from sendwarden.storage import campaigns
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, DuplicateKey
from sendwarden.transport.errors import DeliveryError
from tests.support.fake_transport import FakeTransport
from tests.support.harness import TEST_SECRET_KEY, create_tenant, make_settings


@dataclass
class Stage:
    pipeline: SendPipeline
    transport: FakeTransport
    db: Database
    user_id: int
    campaign_id: int
    rejections: list[str]

    async def lead(self, email: str) -> int:
        async with self.db.transaction() as session:
            lead, _ = await add_lead(
                session,
                user_id=self.user_id,
                campaign_id=self.campaign_id,
                data=LeadInput(f"https://{email.split('@')[1]}/", email),
            )
            return lead.id

    async def attempt(self, attempt_id: int) -> Attempt:
        async with self.db.read() as session:
            row = await session.get(Attempt, attempt_id)
            assert row is not None
            return row

    async def key_states(self) -> list[str]:
        async with self.db.read() as session:
            return list((await session.scalars(select(DuplicateKey.state))).all())


@pytest.fixture
async def stage(sqlite_url: str) -> AsyncIterator[Stage]:
    settings = make_settings(sqlite_url, sendwarden_public_url="https://sw.example")
    db = Database(sqlite_url, audit_key=AuditKey(sqlite_url, secret=TEST_SECRET_KEY.encode()))
    tenant = await create_tenant(db, "alice")
    async with db.transaction() as session:
        campaign = await campaigns.create_campaign(
            session, user_id=tenant.user_id, name="Q4", description=None
        )
    transport = FakeTransport()
    rejections: list[str] = []

    async def on_rejection(session: object, attempt: Attempt, error: DeliveryError) -> None:
        rejections.append(attempt.recipient_email)

    pipeline = SendPipeline(
        db=db,
        settings=settings,
        policy=PolicySettings.from_settings(settings),
        transport=transport,
        secret=b"stage-secret",
        on_rejection=on_rejection,
    )
    yield Stage(pipeline, transport, db, tenant.user_id, campaign.id, rejections)
    await db.dispose()


def pitch(stage: Stage, lead: int, subject: str = "Guest post idea") -> SendRequest:
    return SendRequest(stage.campaign_id, lead, subject, "Hello,\nI enjoyed your article.\n")


async def test_delivered_send_hands_one_composed_message_and_records_sent(stage: Stage) -> None:
    lead = await stage.lead("editor@site.example")
    result = await stage.pipeline.send(stage.user_id, pitch(stage, lead))
    assert result.outcome == "sent" and result.error is None
    [handed] = stage.transport.handed
    assert handed.sender == "outreach@sender.example"
    assert handed.recipients == ["editor@site.example"]
    message = message_from_bytes(handed.raw)
    assert message["Message-ID"] == result.attempt.message_id
    assert "<https://sw.example/u/" in message["List-Unsubscribe"]
    assert (await stage.attempt(result.attempt.id)).status == "sent"
    assert await stage.key_states() == ["used"]


async def test_identical_second_send_is_blocked_before_the_transport(stage: Stage) -> None:
    lead = await stage.lead("editor@site.example")
    await stage.pipeline.send(stage.user_id, pitch(stage, lead))
    again = await stage.pipeline.send(stage.user_id, pitch(stage, lead, " GUEST post  idea"))
    assert again.outcome == "blocked" and again.decision.blocked_by == "idempotency"
    assert len(stage.transport.handed) == 1
    assert (await stage.attempt(again.attempt.id)).status == "blocked"


async def test_permanent_recipient_refusal_fails_frees_the_key_and_reports_it(
    stage: Stage,
) -> None:
    lead = await stage.lead("gone@site.example")
    stage.transport.refuse_with = DeliveryError(
        "rcpt", code=550, server_message="5.1.1 <gone@site.example>: user unknown"
    )
    result = await stage.pipeline.send(stage.user_id, pitch(stage, lead))
    assert result.outcome == "failed" and result.error is stage.transport.refuse_with
    attempt = await stage.attempt(result.attempt.id)
    assert attempt.status == "failed" and attempt.smtp_code == 550
    assert await stage.key_states() == []  # a retry may go out
    assert stage.rejections == ["gone@site.example"]


async def test_ambiguous_data_failure_is_unknown_and_keeps_the_key(stage: Stage) -> None:
    lead = await stage.lead("maybe@site.example")
    stage.transport.refuse_with = DeliveryError("data", summary="connection lost during data")
    result = await stage.pipeline.send(stage.user_id, pitch(stage, lead))
    assert result.outcome == "failed"
    assert (await stage.attempt(result.attempt.id)).status == "unknown"
    assert await stage.key_states() == ["in_flight"]  # never delivered twice
    assert stage.rejections == []


async def test_decide_stage_returns_a_frozen_decision(stage: Stage) -> None:
    lead = await stage.lead("editor@site.example")
    decider = Decider(db=stage.db, policy=stage.pipeline.policy, owner="stage-test")
    [decided] = await decider.decide_batch([(stage.user_id, pitch(stage, lead))])
    assert isinstance(decided, Decided) and decided.reserved
    assert decided.attempt.status == "sending" and decided.entry.attempt_id == decided.attempt.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        decided.reserved = False  # type: ignore[misc]
    assert stage.transport.handed == []  # deciding never delivers


def _inputs(**counts: int) -> PolicyInputs:
    sender = SenderDecision(
        requested=None, effective="out@sender.example", fell_back=False, reason="default"
    )
    return PolicyInputs(
        recipient_email="a@site.example",
        sender=sender,
        subject="Hi",
        suppression=None,
        duplicate=None,
        require_consent=False,
        consent_recorded=None,
        **{"user_count": 0, "user_cap": 5, "domain_count": 0, "domain_cap": 3, **counts},
    )


@pytest.mark.parametrize(
    ("rule", "full"),
    [("daily_user_cap", {"user_count": 5}), ("daily_domain_cap", {"domain_count": 3})],
)
def test_a_lost_cap_race_is_worded_by_the_same_check_as_a_full_cap(
    rule: CheckName, full: dict[str, int]
) -> None:
    blocked = evaluate(_inputs(**full))
    lost = lost_race(evaluate(_inputs()), rule, None)
    assert lost.blocked_by == rule == blocked.blocked_by
    assert lost.reason == blocked.reason
