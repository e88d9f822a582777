"""Dashboard pages of the compliance records: the suppression list, the inbox, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sendwarden.api.deps import State
from sendwarden.inbound.model import SUPPRESSING_REPLY_CLASSES, ReplyClass
from sendwarden.ui import queries
from sendwarden.ui.chain import chain_status
from sendwarden.ui.params import day_bounds, day_param, page_number
from sendwarden.ui.web import PAGE_SIZE, SignedIn, render

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/suppression", response_class=HTMLResponse)
async def suppression(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    search = (request.query_params.get("q") or "").strip()[:320] or None
    page = page_number(request)
    async with state.db.read() as session:
        rows, total = await queries.list_suppressions(
            session, viewer.scope, search, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        names = await queries.user_names(session)
    return await render(
        request,
        state,
        "suppression.html",
        {
            "title": "Suppression",
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "q": search or "",
            "names": names,
        },
        viewer=viewer,
    )


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    page = page_number(request)  # pages through the replies; bounces show the latest
    async with state.db.read() as session:
        replies, replies_total = await queries.list_replies(
            session, viewer.scope, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        bounces, bounces_total = await queries.list_bounces(
            session, viewer.scope, limit=PAGE_SIZE, offset=0
        )
        incidents, incidents_total = await queries.list_incidents(
            session, viewer.scope, limit=PAGE_SIZE, offset=0
        )
        sent = await queries.attempts_by_id(
            session, {r.attempt_id for r in replies if r.attempt_id is not None}
        )
        names = await queries.user_names(session)
    return await render(
        request,
        state,
        "inbox.html",
        {
            "title": "Inbox",
            "replies": replies,
            "replies_total": replies_total,
            "page": page,
            "pages": max(1, -(-replies_total // PAGE_SIZE)),
            "bounces": bounces,
            "bounces_total": bounces_total,
            "incidents": incidents,
            "incidents_total": incidents_total,
            "sent": sent,
            "names": names,
            "classes": [c.value for c in ReplyClass],
            "suppressing": {c.value for c in SUPPRESSING_REPLY_CLASSES},
        },
        viewer=viewer,
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    params = request.query_params
    result = params.get("result") if params.get("result") in {"approved", "blocked"} else None
    day = day_param(params.get("date"))
    since, until = day_bounds(day, state.settings.sendwarden_timezone)
    f = queries.AuditQuery(
        result=result,
        recipient=(params.get("recipient") or "").strip()[:320] or None,
        event=(params.get("event") or "").strip()[:40] or None,
        since=since,
        until=until,
    )
    page = page_number(request)
    async with state.db.read() as session:
        rows, total = await queries.list_audit(
            session, viewer.scope, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        events = await queries.audit_events(session, viewer.scope)
        head = await queries.audit_head(session)
        chain = await chain_status(request.app, session, head)
        names = await queries.user_names(session)
    return await render(
        request,
        state,
        "audit.html",
        {
            "title": "Audit log",
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "events": events,
            "chain": chain,
            "head": head,
            "names": names,
            "filters": {
                "result": result or "",
                "recipient": f.recipient or "",
                "event": f.event or "",
                "date": day.isoformat() if day else "",
            },
        },
        viewer=viewer,
    )
