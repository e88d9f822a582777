"""Every labelled bounce category of the corpus through a real Dovecot poll (issue 11).

Each bounces/<category>/ sample is appended to a real IMAP folder, polled, matched to an
attempt by the returned Message-ID (or by address) and applied: hard bounces suppress,
sender-side blocks open a sender incident and suppress nobody, soft bounces (a delay notice
and the expiry of the same message counting once) suppress nobody.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from sendwarden.config import Settings
from sendwarden.services.polling import poll_once
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, BounceEvent, SenderIncident, Suppression
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import create_tenant

CORPUS = Path(__file__).parent / "data" / "inbound"
CATEGORIES = (
    "code_conflict",
    "sender_side",
    "dns",
    "generic_text",
    "policy_code",
    "success_and_wrapped",
    "legacy_plain",
    "delay_expiry",
)


def labelled_bounces() -> dict[str, dict[str, object]]:
    labels: dict[str, dict[str, object]] = json.loads((CORPUS / "labels.json").read_text())
    return {path: label for path, label in sorted(labels.items()) if path.startswith("bounces/")}


def test_every_bounce_category_has_samples() -> None:
    seen = {path.split("/")[1] for path in labelled_bounces()}
    assert seen == set(CATEGORIES)


async def test_every_corpus_bounce_is_applied_through_imap(
    dovecot_server: DovecotServer, sqlite_url: str
) -> None:
    db = Database(sqlite_url)
    tenant = await create_tenant(db, "bounces")
    folder = "CorpusBounces"
    dovecot_server.create_folder(folder)
    samples = labelled_bounces()
    expected: dict[str, str] = {}
    attempts: dict[tuple[str, str], int] = {}
    async with db.transaction() as session:
        for path, label in samples.items():
            message_id = str(label.get("original_message_id") or f"<none-{path}@x>")
            bounces = label["bounces"]
            assert isinstance(bounces, dict)
            for recipient, cls in bounces.items():
                expected[recipient.lower()] = cls
                key = (message_id, recipient.lower())
                if key in attempts:
                    continue
                # The first labelled recipient owns the returned Message-ID; the others are
                # found by address, as in a multi-recipient report.
                own_id = message_id if not any(k[0] == message_id for k in attempts) else None
                attempt = Attempt(
                    user_id=tenant.user_id,
                    status="sent",
                    recipient_email=recipient,
                    registrable_domain=recipient.rpartition("@")[2],
                    sender_email="anna.keller@acme-outreach.example",
                    subject="Quick question about your blog",
                    legal_basis="legitimate_interest",
                    region="US",
                    reason="sent",
                    duplicate_key=f"{len(attempts):064d}",
                    message_id=own_id,
                )
                session.add(attempt)
                await session.flush()
                attempts[key] = attempt.id
            dovecot_server.append((CORPUS / path).read_bytes(), folder)
    settings = Settings(_env_file=None, database_url=sqlite_url)  # type: ignore[call-arg]
    config = dovecot_server.config(folder=folder, fetch_limit=40)
    while (await poll_once(settings, db, config=config)).fetched:
        pass
    async with db.transaction() as session:
        owners = {a.id: a.recipient_email.lower() for a in await session.scalars(select(Attempt))}
        rows = (await session.scalars(select(Suppression))).all()
        suppressed = {owners[s.attempt_id] for s in rows if s.attempt_id is not None}
        assert len(rows) == len(suppressed)
        incidents = {
            i.recipient_domain for i in (await session.scalars(select(SenderIncident))).all()
        }
        events = {
            (e.recipient.lower(), e.classification)
            for e in (await session.scalars(select(BounceEvent))).all()
        }
    await db.dispose()
    hard = {r for r, cls in expected.items() if cls == "hard"}
    blocked = {r for r, cls in expected.items() if cls == "sender_block"}
    soft = {r for r, cls in expected.items() if cls == "soft"}
    assert suppressed == hard
    assert {r.rpartition("@")[2] for r in blocked} <= incidents
    assert soft <= {r for r, cls in events if cls == "soft"}
    assert not suppressed & (blocked | soft)
