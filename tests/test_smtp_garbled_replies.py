"""A reply without a status code, at every stage of the SMTP dialogue (issue 10.3).

Before the message data is sent, an unreadable reply is a plain failure: the key is
released and a retry delivers. From the DATA command on, the server may have stored
the message: the attempt is `unknown`, its key stays reserved and a retry is refused,
so the sink never holds a second copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from sendwarden.storage.models import Attempt, DuplicateKey
from sendwarden.transport.errors import DeliveryError
from sendwarden.transport.pool import SmtpPool
from tests.support.api_helpers import make_campaign, make_lead, send
from tests.support.harness import AppFactory, smtp_settings
from tests.support.smtp_server import GARBLE_STAGES, Faults, running_smtp_server

# Stages answered before the client has written any message data.
BEFORE_DATA = {"greeting", "ehlo", "starttls", "auth", "mail", "rcpt"}
# Stages seen only when a connection is opened (a pooled one has passed them).
CONNECTION_STAGES = {"greeting", "ehlo", "starttls", "auth"}
RAW = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"


@pytest.mark.parametrize("stage", GARBLE_STAGES)
async def test_pool_classifies_garbled_reply_at_each_stage(tmp_path: Path, stage: str) -> None:
    with running_smtp_server(tmp_path) as server:
        server.faults = Faults(garble=stage)
        pool = SmtpPool(server.config(timeout=2.0))
        try:
            with pytest.raises(DeliveryError) as caught:
                await pool.send(RAW, sender="a@example.com", recipients=["b@example.org"])
        finally:
            await pool.close()
    error = caught.value
    assert error.code is None  # never mistaken for a definite refusal
    assert error.outcome_unknown is (stage not in BEFORE_DATA)
    assert "OK queued" not in str(error)  # server text stays out of the summary
    assert len(server.messages) == (1 if stage == "final" else 0)


@pytest.mark.parametrize("stage", GARBLE_STAGES)
async def test_send_garbled_reply_keeps_key_after_data_and_never_resends(
    api_factory: AppFactory, tmp_path: Path, stage: str
) -> None:
    with running_smtp_server(tmp_path / "garbled") as smtp:
        # Generous: no stage waits for it to expire, and a loaded CI machine once
        # stalled this process for 7 s (the retry then failed "timeout during connect").
        app = await api_factory(**smtp_settings(smtp, smtp_send_timeout=15.0))
        c = await make_campaign(app.client, app.alice.headers)
        warm = await make_lead(app.client, app.alice.headers, c, "warm@example.net")
        assert (await send(app.client, app.alice.headers, c, warm)).status_code == 200
        if stage in CONNECTION_STAGES:
            await app.state.pool.close()
            app.state._pipeline = None
        smtp.faults = Faults(garble=stage)
        lead = await make_lead(app.client, app.alice.headers, c, "victim@example.net")
        r = await send(app.client, app.alice.headers, c, lead)
        assert r.status_code == 500, r.text
        assert r.json() == {"detail": "An internal error occurred"}
        async with app.db.transaction() as session:
            attempt = (await session.scalars(select(Attempt).where(Attempt.lead_id == lead))).one()
            keys = {
                k.attempt_id: k.state for k in (await session.scalars(select(DuplicateKey))).all()
            }
        assert attempt.smtp_code is None

        smtp.faults = Faults()
        retry = await send(app.client, app.alice.headers, c, lead)
        delivered = [m for m in smtp.messages if "victim@example.net" in m.rcpt_tos]
        if stage in BEFORE_DATA:
            assert attempt.status == "failed"
            assert keys == {attempt.id - 1: "used"}  # released for a retry
            assert retry.status_code == 200, retry.text
            assert len(delivered) == 1  # delivered by the retry only
        else:
            assert attempt.status == "unknown"
            assert keys == {attempt.id - 1: "used", attempt.id: "in_flight"}
            assert retry.status_code == 409, retry.text
            # "final": the server stored it before the garbled reply; never a second copy.
            assert len(delivered) == (1 if stage == "final" else 0)
