"""Record stage: the outcome of a delivery, in one short transaction.

Delivered attempts become `sent` and use their duplicate key (group-committed:
concurrent sends share the transaction). Refused ones become `failed` and free
the key, unless the server may have taken the message: then `unknown`, and the
key stays reserved so that no retry can deliver it twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from sendwarden.observability.logging import get_logger
from sendwarden.services.errors import OutcomeNotRecorded
from sendwarden.services.send.model import RejectionHook
from sendwarden.storage import attempts, duplicate_keys
from sendwarden.storage.db import Database
from sendwarden.storage.models import Attempt, AttemptStatus
from sendwarden.storage.types import utcnow
from sendwarden.transport.advice import explain
from sendwarden.transport.errors import DeliveryError
from sendwarden.webhooks import emit as webhook_events

DELIVERED = "Delivered to the SMTP server"
log = get_logger("sendwarden.send")


class Recorder:
    def __init__(self, db: Database, on_rejection: RejectionHook | None = None) -> None:
        self.db = db
        self.on_rejection = on_rejection

    async def delivered(self, delivered: list[Attempt]) -> list[Attempt]:
        """Attempts accepted by SMTP: `sent`, key used, lead contacted (one transaction)."""
        now = utcnow()
        # Id order: batches on several PostgreSQL workers then lock rows in one order.
        ordered = sorted(delivered, key=lambda a: a.id)
        async with self.db.transaction() as session:
            await webhook_events.delivered(session, ordered, reason=DELIVERED)
            await attempts.mark_delivered(session, ordered, reason=DELIVERED, now=now)
            await duplicate_keys.mark_used(session, attempt_ids=[a.id for a in ordered])
        for attempt in delivered:
            attempt.status, attempt.sent_at, attempt.reason = (
                AttemptStatus.SENT.value,
                now,
                DELIVERED,
            )
        return delivered

    async def failed(self, attempt: Attempt, error: DeliveryError) -> Attempt:
        async with self.db.transaction() as session:
            row = await session.get(Attempt, attempt.id)
            assert row is not None
            row.smtp_code = error.code
            # The server's own words stay internal: never in API responses.
            row.smtp_error = f"{error.stage}: {error.server_message}"[:2000]
            if error.outcome_unknown:
                # The server may have taken the message: like a crash mid-send, keep
                # the key reserved so that no retry can deliver it twice.
                row.status = AttemptStatus.UNKNOWN.value
                row.reason = f"Delivery outcome unknown: {explain(error)}; resolve it manually"
                await webhook_events.attempt_changed(session, row, row.status)
                return row
            row.status = AttemptStatus.FAILED.value
            row.reason = f"SMTP delivery failed: {explain(error)}"
            await duplicate_keys.release(session, attempt_id=row.id)
            await webhook_events.attempt_changed(session, row, row.status)
            if self.on_rejection is not None and error.permanent and error.stage == "rcpt":
                await self.on_rejection(session, row, error)
            return row

    async def not_composed(self, attempt: Attempt) -> None:
        """The message could not be built, so it never reached SMTP: fail and free the key."""
        async with self.db.transaction() as session:
            await session.execute(
                update(Attempt)
                .where(Attempt.id == attempt.id)
                .values(
                    status=AttemptStatus.FAILED.value,
                    reason="The message could not be built; nothing was sent",
                    updated_at=utcnow(),
                )
            )
            await duplicate_keys.release(session, attempt_id=attempt.id)
            await webhook_events.attempt_changed(
                session, attempt, "failed", reason=webhook_events.UNBUILT
            )


@contextmanager
def outcome_recording(attempt_id: int, *, delivered: bool) -> Iterator[None]:
    """A database failure after SMTP must not read as "nothing happened" to the caller.

    The attempt stays `sending` with its key reserved (the crash-safety state of
    product.md §4), so a retry answers 409 and nothing is delivered twice.
    """
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        log.error("send outcome not recorded", attempt_id=attempt_id, error=type(exc).__name__)
        what = "was accepted by the SMTP server" if delivered else "was not confirmed by SMTP"
        raise OutcomeNotRecorded(
            f"The message of attempt {attempt_id} {what}, but the database is unavailable"
            " and the outcome could not be recorded. The attempt stays reserved and will"
            " not be sent again automatically; it is marked unknown at the next start."
        ) from exc
