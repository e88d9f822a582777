"""Property: whatever recipients a (forged) DSN or complaint names, automatic suppressions
only ever hit addresses their user actually sent to (issue 10 item 4). Real SQLite, the
real inbound_processing.apply; Hypothesis chooses the reports."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sendwarden.inbound.model import BounceClass, BounceRecipient, InboundKind, ParsedInbound
from sendwarden.services import inbound_processing
from sendwarden.storage import users
from sendwarden.storage.models import Attempt, AttemptStatus, Suppression
from tests.test_cli import SENDER, cli, new_key, run_db

ALICE_SENT = ["a1@one.example", "a2@two.example", "shared@both.example"]
BOB_SENT = ["b1@three.example", "shared@both.example"]
STRANGERS = ["x@evil.example", "ceo@bank.example", "A1@ONE.example"]
_ids = itertools.count(1)


def setup(url: str) -> dict[str, list[str]]:
    new_key(cli(url, "users", "create", "alice"))
    new_key(cli(url, "users", "create", "bob"))

    async def work(session: Any) -> dict[str, list[str]]:
        ids: dict[str, list[str]] = {}
        for name, recipients in (("alice", ALICE_SENT), ("bob", BOB_SENT)):
            owner = await users.get_user_by_name(session, name)
            assert owner is not None
            ids[name] = []
            for recipient in recipients:
                message_id = f"<{name}.{recipient}@sender.example>"
                session.add(
                    Attempt(
                        user_id=owner.id,
                        status=AttemptStatus.SENT.value,
                        recipient_email=recipient,
                        registrable_domain=recipient.split("@")[1],
                        sender_email=SENDER,
                        subject="Guest post",
                        legal_basis="legitimate_interest",
                        region="US",
                        reason="",
                        duplicate_key=f"k-{name}-{recipient}",
                        message_id=message_id,
                    )
                )
                ids[name].append(message_id)
        return ids

    result: dict[str, list[str]] = run_db(url, work)
    return result


def test_forged_reports_only_ever_suppress_recipients_of_their_user(sqlite_url: str) -> None:
    message_ids = setup(sqlite_url)
    all_ids = message_ids["alice"] + message_ids["bob"] + ["<unknown@nowhere.example>", None]
    addresses = ALICE_SENT + BOB_SENT + STRANGERS

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        kind=st.sampled_from([InboundKind.BOUNCE, InboundKind.COMPLAINT]),
        anchor=st.sampled_from(all_ids),
        named=st.lists(st.sampled_from(addresses), min_size=1, max_size=8),
    )
    def check(kind: InboundKind, anchor: str | None, named: list[str]) -> None:
        parsed = ParsedInbound(
            kind=kind,
            message_id=f"<forged{next(_ids)}@evil.example>",
            from_address="mailer-daemon@evil.example",
            subject="Undelivered",
            in_reply_to=None,
            references=(),
            original_message_id=anchor,
            bounces=tuple(
                BounceRecipient(r, "failed", "5.1.1", "550 5.1.1 unknown", BounceClass.HARD)
                for r in named
            ),
            complaint_recipient=named[0],
        )

        async def work(session: Any) -> list[tuple[int | None, str]]:
            await inbound_processing.apply(session, parsed, next(_ids))
            rows = (await session.scalars(select(Suppression))).all()
            return [(row.user_id, row.value) for row in rows]

        rows = run_db(sqlite_url, work)

        async def owners(session: Any) -> dict[int, set[str]]:
            found: dict[int, set[str]] = {}
            for attempt in (await session.scalars(select(Attempt))).all():
                found.setdefault(attempt.user_id, set()).add(attempt.recipient_email.lower())
            return found

        sent_by = run_db(sqlite_url, owners)
        for user_id, value in rows:
            assert user_id is not None and value in sent_by[user_id], (user_id, value)

    check()
