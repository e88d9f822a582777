"""The optional background mailbox poller (SENDWARDEN_POLL_INTERVAL seconds, 0 = off)."""

from __future__ import annotations

import asyncio
import logging

from sendwarden.config import Settings
from sendwarden.services.errors import ServiceError
from sendwarden.services.polling import poll_once
from sendwarden.storage.db import Database

log = logging.getLogger("sendwarden.poll")


def start_background_poller(settings: Settings, db: Database) -> asyncio.Task[None] | None:
    if settings.sendwarden_poll_interval <= 0:
        return None
    return asyncio.create_task(_loop(settings, db), name="sendwarden-poller")


async def _loop(settings: Settings, db: Database) -> None:
    while True:
        try:
            report = await poll_once(settings, db)
            log.info("mailbox polled", extra={"fetched": report.fetched})
            if report.more_pending:
                continue  # drain a backlog without waiting a whole interval
        except ServiceError as exc:
            log.warning("mailbox poll failed: %s", exc)
        except Exception:  # keep polling whatever one round did
            log.exception("mailbox poll crashed")
        await asyncio.sleep(settings.sendwarden_poll_interval)
