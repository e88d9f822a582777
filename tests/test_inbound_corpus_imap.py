"""Every labelled reply of the corpus (six languages, every class) through a real IMAP poll."""

from __future__ import annotations

import json
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import select

from sendwarden.config import Settings
from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES, ReplyClass
from sendwarden.services.polling import poll_once
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, Reply, Suppression
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import create_tenant

CORPUS = Path(__file__).parent / "data" / "inbound"


def labelled_replies() -> list[tuple[str, ReplyClass]]:
    labels = json.loads((CORPUS / "labels.json").read_text())
    return [
        (path, ReplyClass(label["reply_class"]))
        for path, label in sorted(labels.items())
        if label.get("kind") in ("reply", "auto_reply")
    ]


async def test_every_corpus_reply_is_classified_and_applied_through_imap(
    dovecot_server: DovecotServer, sqlite_url: str
) -> None:
    db = Database(sqlite_url)
    tenant = await create_tenant(db, "corpus")
    folder = "CorpusReplies"
    dovecot_server.create_folder(folder)
    expected: dict[int, ReplyClass] = {}
    replies = labelled_replies()
    languages = {Path(p).name[:2] for p, _ in replies if p.startswith("replies/")}
    assert {"en", "de", "fr", "es", "it", "nl"} <= languages
    async with db.transaction() as session:
        for number, (path, label) in enumerate(replies):
            raw = (CORPUS / path).read_bytes()
            sender = parseaddr(
                str(BytesHeaderParser(policy=default).parsebytes(raw)["From"] or "")
            )[1]
            message_id = f"<corpus-{number}@sender.example>"
            attempt = Attempt(
                user_id=tenant.user_id,
                status="sent",
                recipient_email=sender or "x@example.com",
                registrable_domain="example.com",
                sender_email="outreach@sender.example",
                subject="Guest post",
                legal_basis="legitimate_interest",
                region="US",
                reason="sent",
                duplicate_key=f"{number:064d}",
                message_id=message_id,
            )
            session.add(attempt)
            await session.flush()
            expected[attempt.id] = label
            # Our Message-ID first, so the reply matches this attempt whatever it quotes.
            dovecot_server.append(f"In-Reply-To: {message_id}\r\n".encode() + raw, folder)
    settings = Settings(_env_file=None, database_url=sqlite_url)  # type: ignore[call-arg]
    config = dovecot_server.config(folder=folder, fetch_limit=40)
    while (await poll_once(settings, db, config=config)).fetched:
        pass
    async with db.transaction() as session:
        got = {r.attempt_id: r.classification for r in (await session.scalars(select(Reply))).all()}
        suppressed = {s.attempt_id for s in (await session.scalars(select(Suppression))).all()}
        recipients = {
            a.id: a.recipient_email for a in (await session.scalars(select(Attempt))).all()
        }
    await db.dispose()
    wrong = {
        replies[i][0]: (label.value, got.get(attempt_id))
        for i, (attempt_id, label) in enumerate(expected.items())
        if got.get(attempt_id) != label.value
    }
    assert wrong == {}
    should_suppress = {a for a, label in expected.items() if label in SUPPRESSING_REPLY_CLASSES}
    # One suppression per address: several corpus replies may share a sender.
    assert {recipients[a] for a in suppressed} == {recipients[a] for a in should_suppress}
    assert suppressed <= should_suppress
