"""The send pipeline of product.md §4 end to end, against a real STARTTLS+AUTH SMTP server."""

from __future__ import annotations

import asyncio
import email
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sendwarden.services.crash_recovery import recover_interrupted_sends
from sendwarden.storage.models import (
    Attempt,
    AuditEntry,
    DailyCounter,
    DuplicateKey,
    Suppression,
)
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory, smtp_settings
from tests.support.smtp_server import Faults, FaultyServer, running_smtp_server


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(**smtp_settings(smtp, sendwarden_public_url="https://sw.example"))


async def rows(api: ApiHarness, model: Any) -> int:
    async with api.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counter_total(api: ApiHarness) -> int:
    async with api.db.transaction() as session:
        return int(
            await session.scalar(select(func.coalesce(func.sum(DailyCounter.count), 0))) or 0
        )


async def test_send_happy_path_delivers_and_records(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "Editor@Blog.Example.com")
    r = await send(app.client, app.alice.headers, c, lead, subject="Grüße: guest post")
    assert r.status_code == 200, r.text
    attempt = r.json()
    assert attempt["status"] == "sent"
    assert attempt["recipient_email"] == "Editor@blog.example.com"
    assert attempt["sender_email"] == "outreach@sender.example"
    assert attempt["region"] == "US" and attempt["legal_basis"] == "legitimate_interest"
    [received] = smtp.wait_for(1)
    msg = email.message_from_bytes(received.raw, policy=policy.default)
    assert msg["Message-ID"] == attempt["message_id"]
    assert attempt["message_id"].endswith("@sender.example>")
    assert str(msg["Subject"]) == "Grüße: guest post"
    assert "Outreach Team" in str(msg["From"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://sw.example/u/" in str(msg["List-Unsubscribe"])
    assert "I enjoyed your article." in msg.get_body(("plain",)).get_content()
    lead_row = (
        await app.client.get(f"{API}/campaigns/{c}/leads", headers=app.alice.headers)
    ).json()
    assert lead_row["items"][0]["status"] == "contacted"
    stored = (
        await app.client.get(f"{API}/attempts/{attempt['id']}", headers=app.alice.headers)
    ).json()
    assert stored["message_id"] == attempt["message_id"] and stored["sent_at"]
    audit = (await app.client.get(f"{API}/audit-logs", headers=app.alice.headers)).json()
    assert any(
        e["attempt_id"] == attempt["id"] and e["policy_result"] == "approved"
        for e in audit["items"]
    )


async def test_send_blocked_by_suppression_sends_nothing_consumes_nothing(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "x@suppressed.example")
    await app.client.post(
        f"{API}/suppression", json={"domain": "suppressed.example"}, headers=app.alice.headers
    )
    r = await send(app.client, app.alice.headers, c, lead)
    assert r.status_code == 403
    body = r.json()
    assert body["detail"] == "Policy validation failed"
    assert "suppressed" in body["reason"]
    assert {ch["name"]: ch["passed"] for ch in body["checks"]}["suppression"] is False
    assert smtp.messages == []
    assert await counter_total(app) == 0
    assert await rows(app, DuplicateKey) == 0
    attempt = (
        await app.client.get(f"{API}/attempts/{body['attempt_id']}", headers=app.alice.headers)
    ).json()
    assert attempt["status"] == "blocked"


async def test_send_blocked_by_domain_cap_keeps_user_slot(
    api_factory: AppFactory, smtp: FaultyServer
) -> None:
    app = await api_factory(**smtp_settings(smtp), sendwarden_domain_daily_cap=2)
    c = await make_campaign(app.client, app.alice.headers)
    codes = []
    for i in range(3):
        lead = await make_lead(app.client, app.alice.headers, c, f"p{i}@mail.capped.co.uk")
        codes.append((await send(app.client, app.alice.headers, c, lead)).status_code)
    assert codes == [200, 200, 403]
    assert len(smtp.messages) == 2
    async with app.db.transaction() as session:
        counts = {
            (row.scope, row.scope_key): row.count
            for row in (await session.scalars(select(DailyCounter))).all()
        }
    assert counts == {("user", ""): 2, ("domain", "capped.co.uk"): 2}


async def test_send_duplicate_within_24h_is_blocked(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "dup@example.org")
    assert (await send(app.client, app.alice.headers, c, lead, subject="Same")).status_code == 200
    r = await send(app.client, app.alice.headers, c, lead, subject="  same ")
    assert r.status_code == 403
    assert "24 h" in r.json()["reason"]
    assert len(smtp.messages) == 1


async def test_send_sender_alias_fallback_is_recorded(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "a@example.net")
    r = await send(app.client, app.alice.headers, c, lead, sender_email="ceo@evil.example")
    assert r.status_code == 200, r.text
    assert r.json()["sender_email"] == "outreach@sender.example"
    assert r.json()["requested_sender_email"] == "ceo@evil.example"
    assert smtp.messages[0].envelope_from == "outreach@sender.example"


async def test_send_allowed_alias_is_used(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "a@example.net")
    r = await send(app.client, app.alice.headers, c, lead, sender_email="Jane@Sender.Example")
    assert r.status_code == 200
    assert r.json()["sender_email"] == "Jane@sender.example"


async def test_send_lead_without_email_is_422(app: ApiHarness) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, None, site="https://noemail.example")
    r = await send(app.client, app.alice.headers, c, lead)
    assert r.status_code == 422
    assert "no contact email" in r.json()["detail"]


async def test_send_other_users_lead_is_404(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "a@example.net")
    r = await send(app.client, app.bob.headers, c, lead)
    assert r.status_code == 404
    assert smtp.messages == [] and await rows(app, Attempt) == 0


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.com", "Hi\nX: y", "Hi\rthere"])
async def test_send_header_injection_is_422_and_writes_nothing(
    app: ApiHarness, smtp: FaultyServer, subject: str
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "a@example.net")
    audit_before = await rows(app, AuditEntry)
    r = await send(app.client, app.alice.headers, c, lead, subject=subject)
    assert r.status_code == 422
    assert "CR or LF" in r.json()["detail"]
    assert smtp.messages == [] and await rows(app, Attempt) == 0
    assert await rows(app, AuditEntry) == audit_before


async def test_send_idempotency_key_replays_original_response(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "a@example.net")
    key = {"extra_headers": {"Idempotency-Key": "req-1"}}
    first = await send(app.client, app.alice.headers, c, lead, **key)
    again = await send(app.client, app.alice.headers, c, lead, **key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(smtp.messages) == 1
    different = await send(app.client, app.alice.headers, c, lead, subject="Other", **key)
    assert different.status_code == 422
    assert "different request parameters" in different.json()["detail"]
    # Keys are per user: Bob's identical key is independent of Alice's.
    bob_c = await make_campaign(app.client, app.bob.headers)
    bob_lead = await make_lead(app.client, app.bob.headers, bob_c, "b@example.net")
    assert (await send(app.client, app.bob.headers, bob_c, bob_lead, **key)).status_code == 200


async def test_send_smtp_rejection_is_500_generic_key_released_slot_kept(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "gone@example.net")
    smtp.faults = Faults(rcpt_reply="550 5.1.1 <gone@example.net>: Recipient address rejected")
    r = await send(app.client, app.alice.headers, c, lead)
    assert r.status_code == 500
    assert r.json() == {"detail": "An internal error occurred"}
    async with app.db.transaction() as session:
        attempt = (await session.scalars(select(Attempt))).one()
        assert attempt.status == "failed" and attempt.smtp_code == 550
        assert await session.scalar(select(func.count()).select_from(DuplicateKey)) == 0
        # A 5.1.1 at RCPT counts like a returned hard bounce.
        supp = (await session.scalars(select(Suppression))).one()
        assert supp.value == "gone@example.net" and supp.source == "bounce"
    assert await counter_total(app) == 2  # one user slot + one domain slot stay consumed
    smtp.faults = Faults()
    other = await make_lead(app.client, app.alice.headers, c, "fine@example.net")
    assert (await send(app.client, app.alice.headers, c, other)).status_code == 200


async def test_send_retry_after_transient_failure_is_allowed(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "later@example.net")
    smtp.faults = Faults(rcpt_reply="451 4.3.0 Try again later")
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 500
    smtp.faults = Faults()
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 200
    assert len(smtp.messages) == 1


REPLIES = {
    421: "421 4.3.2 Service shutting down",
    451: "451 4.3.0 Local error, try again later",
    550: "550 5.1.1 User unknown",
    552: "552 5.2.2 Mailbox full",
    554: "554 5.7.1 Rejected by policy",
}
# Every reply code at every stage of the transaction, plus the connection-level faults.
FAULTS = {
    "no_starttls": Faults(no_starttls=True),
    "untrusted_cert": Faults(untrusted_cert=True),
    "auth_rejected": Faults(reject_auth=True),
    **{f"mail_{code}": Faults(mail_reply=reply) for code, reply in REPLIES.items()},
    **{f"rcpt_{code}": Faults(rcpt_reply=reply) for code, reply in REPLIES.items()},
    **{f"data_{code}": Faults(data_reply=reply) for code, reply in REPLIES.items()},
    "drop_mid_data": Faults(drop_during_data=True),
    "timeout": Faults(stall_seconds=5),
}


CONNECTION_FAULTS = {"no_starttls", "untrusted_cert", "auth_rejected"}
AMBIGUOUS_FAULTS = {"drop_mid_data", "timeout"}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_send_smtp_fault_leaves_state_as_specified_and_pool_recovers(
    api_factory: AppFactory, tmp_path: Path, fault: str
) -> None:
    # Only the stall needs a timeout shorter than itself; the other sends get room for a
    # machine that pauses for seconds (CI once stalled 6 s in the warm-up's connect).
    timeout = 3.0 if fault == "timeout" else 15.0
    with running_smtp_server(tmp_path / "faulty") as smtp:
        app = await api_factory(**smtp_settings(smtp, smtp_send_timeout=timeout))
        c = await make_campaign(app.client, app.alice.headers)
        warm = await make_lead(app.client, app.alice.headers, c, "warm@example.net")
        assert (await send(app.client, app.alice.headers, c, warm)).status_code == 200
        if fault in CONNECTION_FAULTS:
            # These faults show on a new connection only: start from an empty pool.
            await app.state.pool.close()
            app.state._pipeline = None
        smtp.faults = FAULTS[fault]
        lead = await make_lead(app.client, app.alice.headers, c, "victim@example.net")
        r = await send(app.client, app.alice.headers, c, lead)
        assert r.status_code == 500
        assert r.json() == {"detail": "An internal error occurred"}
        async with app.db.transaction() as session:
            attempt = (await session.scalars(select(Attempt).where(Attempt.lead_id == lead))).one()
            keys = {
                k.attempt_id: k.state for k in (await session.scalars(select(DuplicateKey))).all()
            }
        if fault in AMBIGUOUS_FAULTS:
            # The server may have stored the message: never released for a retry.
            assert attempt.status == "unknown"
            assert keys == {attempt.id - 1: "used", attempt.id: "in_flight"}
        else:
            assert attempt.status == "failed"
            assert keys == {attempt.id - 1: "used"}  # the failed send's key was released
            assert not any("victim@example.net" in m.rcpt_tos for m in smtp.messages)
        code = fault.rpartition("_")[2]
        if code.isdigit():
            assert attempt.smtp_code == int(code)  # kept internally, never in the response
        assert await counter_total(app) == 4
        smtp.faults = Faults()
        after = await make_lead(app.client, app.alice.headers, c, "after@example.net")
        r = await send(app.client, app.alice.headers, c, after)
        assert r.status_code == 200, r.text
        assert any("after@example.net" in m.rcpt_tos for m in smtp.messages)


async def test_send_concurrent_identical_requests_deliver_once(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "once@example.net")
    results = await asyncio.gather(
        *(send(app.client, app.alice.headers, c, lead) for _ in range(20))
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1
    assert set(codes) <= {200, 403, 409}
    await asyncio.sleep(0.2)
    assert len(smtp.messages) == 1


async def test_send_interrupted_attempts_become_unknown_on_start(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "crash@example.net")
    smtp.faults = Faults(stall_seconds=2)
    task = asyncio.create_task(send(app.client, app.alice.headers, c, lead))
    for _ in range(100):
        async with app.db.transaction() as session:
            if await session.scalar(select(Attempt.status)) == "sending":
                break
        await asyncio.sleep(0.02)
    recovered = await recover_interrupted_sends(app.settings, app.db)
    assert len(recovered) == 1
    task.cancel()
    async with app.db.transaction() as session:
        attempt = (await session.scalars(select(Attempt))).one()
        key = (await session.scalars(select(DuplicateKey))).one()
    assert attempt.status == "unknown" and attempt.message_id
    assert key.state == "in_flight"  # nothing resends it automatically
    smtp.faults = Faults()
    again = await send(app.client, app.alice.headers, c, lead)
    assert again.status_code == 409


async def test_unknown_attempt_is_resolved_by_operator(app: ApiHarness, smtp: FaultyServer) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "maybe@example.net")
    smtp.faults = Faults(drop_during_data=True)
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 500
    smtp.faults = Faults()
    unknown = (
        await app.client.get(
            f"{API}/attempts", params={"status": "unknown"}, headers=app.alice.headers
        )
    ).json()
    [attempt] = unknown["items"]
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 409
    foreign = await app.client.post(
        f"{API}/attempts/{attempt['id']}/resolve",
        json={"outcome": "failed"},
        headers=app.bob.headers,
    )
    assert foreign.status_code == 404
    r = await app.client.post(
        f"{API}/attempts/{attempt['id']}/resolve",
        json={"outcome": "failed", "note": "not in the server log"},
        headers=app.alice.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "failed"
    again = await app.client.post(
        f"{API}/attempts/{attempt['id']}/resolve",
        json={"outcome": "sent"},
        headers=app.alice.headers,
    )
    assert again.status_code == 409
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 200


async def test_send_is_dkim_signed_and_verifies(
    api_factory: AppFactory, smtp: FaultyServer, tmp_path: Path
) -> None:
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "dkim.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    app = await api_factory(
        **smtp_settings(smtp, dkim_private_key_path=key_path, dkim_selector="sw2026")
    )
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "dkim@example.net")
    assert (await send(app.client, app.alice.headers, c, lead, subject="Signé")).status_code == 200
    [received] = smtp.wait_for(1)
    assert received.raw.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"sw2026._domainkey.sender.example." else b""

    assert dkim.verify(received.raw, dnsfunc=dns)
    tampered = received.raw.replace(b"I enjoyed", b"I hated")
    assert not dkim.verify(tampered, dnsfunc=dns)


async def test_crash_recovery_frees_idempotency_keys_of_interrupted_requests(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    from sendwarden.storage.models import HttpIdempotencyKey

    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "stuck@example.net")
    smtp.faults = Faults(stall_seconds=2)
    task = asyncio.create_task(
        send(app.client, app.alice.headers, c, lead, extra_headers={"Idempotency-Key": "crash-1"})
    )
    for _ in range(100):
        async with app.db.transaction() as session:
            if await session.scalar(select(Attempt.status)) == "sending":
                break
        await asyncio.sleep(0.02)
    task.cancel()  # the process "dies" before answering
    async with app.db.transaction() as session:
        [key] = (await session.scalars(select(HttpIdempotencyKey))).all()
        assert key.state == "in_progress" and key.owner == app.state.lease_owner
    await recover_interrupted_sends(app.settings, app.db)
    async with app.db.transaction() as session:
        assert (await session.scalars(select(HttpIdempotencyKey))).all() == []
    smtp.faults = Faults()
    retry = await send(
        app.client, app.alice.headers, c, lead, extra_headers={"Idempotency-Key": "crash-1"}
    )
    # The key no longer blocks the retry; the interrupted attempt still does, so nothing
    # can be delivered twice.
    assert retry.status_code == 409
    assert "identical send" in retry.json()["detail"]


async def test_send_service_refuses_header_injection_before_writing(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    """The CLI reaches the pipeline without the API's field checks: same guarantee."""
    from sendwarden.services.errors import InvalidInput
    from sendwarden.services.send import SendRequest

    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "cli@example.net")
    pipeline = await app.state.send_pipeline()
    with pytest.raises(InvalidInput, match="subject"):
        await pipeline.send(
            app.alice.user_id, SendRequest(c, lead, "Hi\u2028Bcc: x@evil.example", "body")
        )
    assert await rows(app, Attempt) == 0 and await counter_total(app) == 0


async def test_send_message_that_cannot_be_built_frees_its_reservation(
    app: ApiHarness, smtp: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sendwarden.services.send.compose as send_module

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("simulated MIME failure")

    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "broken@example.net")
    monkeypatch.setattr(send_module, "outgoing_message_bytes", broken)  # both builders
    r = await send(app.client, app.alice.headers, c, lead)
    assert r.status_code == 500 and r.json() == {"detail": "An internal error occurred"}
    assert smtp.messages == []
    async with app.db.transaction() as session:
        attempt = (await session.scalars(select(Attempt))).one()
        assert attempt.status == "failed"
        assert await session.scalar(select(func.count()).select_from(DuplicateKey)) == 0
    monkeypatch.undo()
    assert (await send(app.client, app.alice.headers, c, lead)).status_code == 200


ATTEMPT_FIELDS = {
    "id", "campaign_id", "lead_id", "status", "recipient_email", "sender_email",
    "requested_sender_email", "subject", "legal_basis", "region", "reason", "message_id",
    "created_at", "sent_at",
}  # fmt: skip


async def test_campaign_attempts_list_carries_product_fields_and_filters(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    c = await make_campaign(app.client, app.alice.headers)
    ok = await make_lead(app.client, app.alice.headers, c, "listed@example.net")
    blocked = await make_lead(app.client, app.alice.headers, c, "nope@blocked.example")
    await app.client.post(
        f"{API}/suppression", json={"domain": "blocked.example"}, headers=app.alice.headers
    )
    assert (await send(app.client, app.alice.headers, c, ok)).status_code == 200
    assert (await send(app.client, app.alice.headers, c, blocked)).status_code == 403
    url = f"{API}/campaigns/{c}/attempts"
    page = (await app.client.get(url, headers=app.alice.headers)).json()
    assert page["total"] == 2
    assert [a["status"] for a in page["items"]] == ["blocked", "sent"]  # newest first
    assert all(a.keys() >= ATTEMPT_FIELDS for a in page["items"])
    sent_only = (
        await app.client.get(url, params={"status": "sent"}, headers=app.alice.headers)
    ).json()
    assert [a["recipient_email"] for a in sent_only["items"]] == ["listed@example.net"]
    everything = (await app.client.get(f"{API}/attempts", headers=app.alice.headers)).json()
    assert everything["total"] == 2
    assert (await app.client.get(url, headers=app.bob.headers)).status_code == 404


async def test_expired_idempotency_keys_are_purged(
    app: ApiHarness, smtp: FaultyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from sendwarden.storage import http_idempotency
    from sendwarden.storage.models import HttpIdempotencyKey

    async with app.db.transaction() as session:
        for name, age in (("old", timedelta(hours=25)), ("fresh", timedelta(hours=1))):
            session.add(
                HttpIdempotencyKey(
                    user_id=app.alice.user_id,
                    key=name,
                    request_hash="0" * 64,
                    state="done",
                    response_status=200,
                    response_body="{}",
                    created_at=datetime.now(UTC) - age,
                )
            )
    monkeypatch.setattr(http_idempotency, "_last_purge", float("-inf"))
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, "purge@example.net")
    r = await send(app.client, app.alice.headers, c, lead, extra_headers={"Idempotency-Key": "new"})
    assert r.status_code == 200
    async with app.db.transaction() as session:
        keys = sorted((await session.scalars(select(HttpIdempotencyKey.key))).all())
    assert keys == ["fresh", "new"]
