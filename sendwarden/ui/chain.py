"""The audit chain's verdict for the Audit page, without walking the log on every view."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.storage import audit_chain
from sendwarden.storage.models import AuditHead

# A verdict is reused while the head is unchanged, for at most this many seconds: an
# edit deep in the log (head untouched) shows up within a minute.
CHAIN_CHECK_TTL = 60.0


@dataclass
class _Verdict:
    head: tuple[int, str] = (-1, "")
    checked_at: float = 0.0
    report: audit_chain.ChainReport | None = field(default=None)


async def chain_status(
    app: FastAPI, session: AsyncSession, head: AuditHead | None
) -> audit_chain.ChainReport:
    verdict: _Verdict | None = getattr(app.state, "ui_chain_verdict", None)
    if verdict is None:
        verdict = _Verdict()
        app.state.ui_chain_verdict = verdict
    key = (head.last_seq, head.last_hash) if head is not None else (0, "")
    fresh = time.monotonic() - verdict.checked_at < CHAIN_CHECK_TTL
    if verdict.report is not None and verdict.head == key and fresh:
        return verdict.report
    report = await audit_chain.verify_chain(session)
    verdict.head, verdict.checked_at, verdict.report = key, time.monotonic(), report
    return report
