from __future__ import annotations

import os

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import func, select

from sendwarden.api.deps import State
from sendwarden.api.state import AppState
from sendwarden.storage.models import MailboxCursor
from sendwarden.storage.types import utcnow

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(state: State) -> JSONResponse:
    """Liveness plus a database round trip."""
    try:
        # Read-only: on SQLite a plain connection would BEGIN IMMEDIATE and wait
        # for the write lock behind every writer (an import's chunks, sends).
        await state.db.ping()
    except Exception:  # any failure means not healthy; the reason is logged by the driver
        return JSONResponse(status_code=503, content={"status": "error", "database": "unreachable"})
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: State) -> Response:
    """Prometheus metrics; aggregated over all workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body + await _poll_lag(state), media_type=CONTENT_TYPE_LATEST)


async def _poll_lag(state: AppState) -> bytes:
    """Seconds since any host last polled the mailbox, read from the shared database."""
    try:
        async with state.db.transaction() as session:
            last = await session.scalar(select(func.max(MailboxCursor.last_poll_at)))
    except Exception:  # metrics must render even when the database is down
        return b""
    if last is None:
        return b""
    lag = max(0.0, (utcnow() - last).total_seconds())
    return (
        b"# HELP sendwarden_poll_lag_seconds Seconds since the mailbox was last polled\n"
        b"# TYPE sendwarden_poll_lag_seconds gauge\n"
        + f"sendwarden_poll_lag_seconds {lag:.3f}\n".encode()
    )
