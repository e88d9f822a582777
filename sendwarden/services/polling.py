"""One poll of the outreach mailbox: fetch new messages, process each exactly once.

Each message is recorded, applied and the mailbox cursor advanced in ONE
transaction, so a crash never applies a message twice nor skips it; a
message that fails to parse is recorded as such and never blocks the rest.
Concurrent pollers are harmless: the Message-ID / UID uniqueness makes the
second one skip what the first recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sendwarden.config import Settings
from sendwarden.inbound.dsn import normalize_message_id
from sendwarden.inbound.imap import (
    FetchBatch,
    FetchedMessage,
    ImapConfig,
    ImapConfigError,
    ImapError,
    MailboxCursor,
    fetch_new_messages,
)
from sendwarden.inbound.model import InboundParseError, ParsedInbound
from sendwarden.inbound.parse import parse_inbound
from sendwarden.observability import metrics
from sendwarden.services import inbound_processing
from sendwarden.services.errors import NotConfigured, UpstreamFailed
from sendwarden.services.wiring import load_secret
from sendwarden.storage import inbound
from sendwarden.storage.db import Database
from sendwarden.storage.models import InboundMessage

log = logging.getLogger("sendwarden.poll")


class PollFailed(UpstreamFailed):
    pass


@dataclass
class PollReport:
    fetched: int = 0
    processed: int = 0
    duplicates: int = 0
    parse_errors: int = 0
    bounces: int = 0
    complaints: int = 0
    replies: int = 0
    auto_replies: int = 0
    unsubscribes: int = 0
    refused: int = 0  # effects a message asked for that were not taken (see inbound_trust)
    unmatched: int = 0
    suppressed: int = 0
    more_pending: bool = False
    uidvalidity_reset: bool = False


def mailbox_key(config: ImapConfig) -> str:
    return f"{config.username}@{config.host}:{config.port}/{config.folder}"


def _quick_message_id(raw: bytes) -> str | None:
    """The Message-ID even of a message that does not parse, for deduplication."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.decode("utf-8", "replace").splitlines():
        if line.lower().startswith("message-id:"):
            return normalize_message_id(line.split(":", 1)[1])
    return None


async def poll_once(
    settings: Settings, db: Database, *, config: ImapConfig | None = None
) -> PollReport:
    try:
        config = config or ImapConfig.from_settings(settings)
    except ImapConfigError as exc:
        raise NotConfigured(str(exc)) from exc  # already says "IMAP is not configured"
    mailbox = mailbox_key(config)
    async with db.transaction() as session:
        row = await inbound.get_cursor(session, mailbox)
        cursor = MailboxCursor(row.uidvalidity, row.last_uid) if row is not None else None
    try:
        batch = await fetch_new_messages(config, cursor)
    except ImapError as exc:
        raise PollFailed(f"Could not read the mailbox: {exc}") from exc
    report = PollReport(
        fetched=len(batch.messages),
        more_pending=batch.more_pending,
        uidvalidity_reset=batch.reset,
    )
    secret = await load_secret(settings, db) if batch.messages else None
    for message in batch.messages:
        await _process(db, mailbox, batch, message.uid, message.raw, report, secret)
    async with db.transaction() as session:
        if batch.next_cursor is not None and not batch.messages:
            await inbound.advance_cursor(
                session, mailbox, batch.uidvalidity, batch.next_cursor.last_uid
            )
        else:
            await inbound.touch_cursor(session, mailbox)
    metrics.LAST_POLL.set_to_current_time()
    return report


async def apply_fetched(
    db: Database, mailbox: str, messages: tuple[FetchedMessage, ...], *, uidvalidity: int = 1
) -> PollReport:
    """Apply messages fetched elsewhere exactly as a poll applies its own: parse, record
    once, take effects. `sendwarden demo` feeds it the bounce and reply it builds."""
    batch = FetchBatch(uidvalidity=uidvalidity, messages=messages, more_pending=False, reset=False)
    report = PollReport(fetched=len(messages))
    for message in messages:
        await _process(db, mailbox, batch, message.uid, message.raw, report)
    return report


async def _process(
    db: Database,
    mailbox: str,
    batch: FetchBatch,
    uid: int,
    raw: bytes,
    report: PollReport,
    secret: bytes | None = None,
) -> None:
    parsed: ParsedInbound | None = None
    error: str | None = None
    try:
        parsed = parse_inbound(raw)
    except InboundParseError as exc:
        error = str(exc)[:500]
    except Exception as exc:  # a parser bug must not block the messages behind it
        log.exception("inbound parser failed on uid %s", uid)
        error = f"parser error: {type(exc).__name__}"
    async with db.transaction() as session:
        record = InboundMessage(
            mailbox=mailbox,
            uid=uid,
            uidvalidity=batch.uidvalidity,
            message_id=parsed.message_id if parsed is not None else _quick_message_id(raw),
            kind=parsed.kind.value if parsed is not None else "unparsed",
            status="processed" if parsed is not None else "parse_error",
            error=error,
        )
        fresh = await inbound.claim_message(session, record)
        if fresh and parsed is not None:
            effect = await inbound_processing.apply(session, parsed, record.id, secret)
            record.attempt_id = effect.attempt_id
            record.user_id = effect.user_id
            if effect.attempt_id is None:
                record.status = "unmatched"
                report.unmatched += 1
            report.suppressed += effect.suppressed
            report.refused += effect.refused
            _count(report, parsed)
        await inbound.advance_cursor(session, mailbox, batch.uidvalidity, uid)
    if not fresh:
        report.duplicates += 1
    elif parsed is None:
        report.parse_errors += 1
    else:
        report.processed += 1


def _count(report: PollReport, parsed: ParsedInbound) -> None:
    kind = parsed.kind.value
    if kind == "bounce":
        report.bounces += 1
    elif kind == "complaint":
        report.complaints += 1
    elif kind == "reply":
        report.replies += 1
    elif kind == "auto_reply":
        report.auto_replies += 1
    elif kind == "unsubscribe":
        report.unsubscribes += 1
