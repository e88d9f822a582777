"""The dashboard's pages (GET only): Today, Attempts, Campaigns (the records: record_pages.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sendwarden.api.deps import State
from sendwarden.policy import counter_day
from sendwarden.storage.models import AttemptStatus, LeadStatus
from sendwarden.ui import queries
from sendwarden.ui.charts import build_chart
from sendwarden.ui.params import day_bounds, day_param, int_param, page_number
from sendwarden.ui.web import PAGE_SIZE, PageNotFound, SignedIn, render

router = APIRouter(prefix="/ui", include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
async def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/today", status_code=303)


@router.get("/today", response_class=HTMLResponse)
async def today(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    settings = state.settings
    timezone = settings.sendwarden_timezone
    now = datetime.now(UTC)
    day = counter_day(now, timezone)
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    reset_at = local_midnight + timedelta(days=1)
    async with state.db.read() as session:
        activity = await queries.activity_since(
            session, viewer.scope, now - timedelta(days=31), local_midnight.astimezone(UTC)
        )
        user_counts = dict(await queries.user_counts(session, viewer.scope, day))
        domains = await queries.busiest_domains(session, viewer.scope, day)
        names = await queries.user_names(session)
        recent, _ = await queries.list_attempts(
            session, viewer.scope, queries.AttemptFilter(), limit=8, offset=0
        )
    if not viewer.is_admin:
        user_counts.setdefault(viewer.user.id, 0)
    today_start = local_midnight.astimezone(UTC)
    sent_today = sum(1 for t, s in activity.points if s == "sent" and t >= today_start)
    blocked_today = sum(activity.blocks_today_by_rule.values())
    until_reset = reset_at - now.astimezone(ZoneInfo(timezone))
    hours, rest = divmod(int(until_reset.total_seconds()), 3600)
    return await render(
        request,
        state,
        "today.html",
        {
            "title": "Today",
            "sent_today": sent_today,
            "blocked_today": blocked_today,
            "blocks_by_rule": activity.blocks_today_by_rule.most_common(),
            "user_counts": sorted(user_counts.items(), key=lambda kv: -kv[1]),
            "user_cap": settings.sendwarden_user_daily_cap,
            "domains": domains,
            "domain_cap": settings.sendwarden_domain_daily_cap,
            "names": names,
            "recent": recent,
            "rule_of": queries.first_failed_rule,
            "reset_at": reset_at.strftime("%Y-%m-%d %H:%M"),
            "reset_in": f"{hours} h {rest // 60} min",
            "hourly": build_chart(
                "Last 7 days, per hour", activity.points, now=now, timezone=timezone, hourly=True
            ),
            "daily": build_chart(
                "Last 30 days, per day", activity.points, now=now, timezone=timezone, hourly=False
            ),
        },
        viewer=viewer,
    )


@router.get("/attempts", response_class=HTMLResponse)
async def attempts(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    params = request.query_params
    status = params.get("status") or None
    if status not in {s.value for s in AttemptStatus}:
        status = None
    day = day_param(params.get("date"))
    since, until = day_bounds(day, state.settings.sendwarden_timezone)
    recipient = (params.get("recipient") or "").strip()[:320] or None
    f = queries.AttemptFilter(
        status=status,
        campaign_id=int_param(params.get("campaign")),
        recipient=recipient,
        since=since,
        until=until,
    )
    page = page_number(request)
    async with state.db.read() as session:
        rows, total = await queries.list_attempts(
            session, viewer.scope, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        campaigns, _ = await queries.list_campaigns(session, viewer.scope, limit=500, offset=0)
        names = await queries.user_names(session)
    return await render(
        request,
        state,
        "attempts.html",
        {
            "title": "Attempts",
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "statuses": [s.value for s in AttemptStatus],
            "campaigns": campaigns,
            "names": names,
            "rule_of": queries.first_failed_rule,
            "filters": {
                "status": status or "",
                "campaign": f.campaign_id or "",
                "recipient": recipient or "",
                "date": day.isoformat() if day else "",
            },
        },
        viewer=viewer,
    )


@router.get("/attempts/{attempt_id}", response_class=HTMLResponse)
async def attempt_detail(
    attempt_id: Id, request: Request, state: State, viewer: SignedIn
) -> HTMLResponse:
    async with state.db.read() as session:
        attempt = await queries.get_attempt(session, viewer.scope, attempt_id)
        if attempt is None:
            raise PageNotFound(f"attempt {attempt_id} not found")
        names = await queries.user_names(session)
    try:
        checks = json.loads(attempt.checks or "[]")
    except ValueError:
        checks = []
    return await render(
        request,
        state,
        "attempt.html",
        {"title": f"Attempt {attempt.id}", "a": attempt, "checks": checks, "names": names},
        viewer=viewer,
    )


@router.get("/campaigns", response_class=HTMLResponse)
async def campaign_list(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    async with state.db.read() as session:
        rows, total = await queries.list_campaigns(session, viewer.scope, limit=500, offset=0)
        counts = await queries.lead_status_counts(session, [c.id for c in rows])
        names = await queries.user_names(session)
    return await render(
        request,
        state,
        "campaigns.html",
        {
            "title": "Campaigns",
            "rows": rows,
            "total": total,
            "counts": counts,
            "names": names,
            "statuses": [s.value for s in LeadStatus],
        },
        viewer=viewer,
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_detail(
    campaign_id: Id, request: Request, state: State, viewer: SignedIn
) -> HTMLResponse:
    status = request.query_params.get("status")
    if status not in {s.value for s in LeadStatus}:
        status = None
    page = page_number(request)
    async with state.db.read() as session:
        campaign = await queries.get_campaign(session, viewer.scope, campaign_id)
        if campaign is None:
            raise PageNotFound(f"campaign {campaign_id} not found")
        leads, total = await queries.list_leads(
            session, campaign.id, status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        counts = (await queries.lead_status_counts(session, [campaign.id])).get(campaign.id)
    return await render(
        request,
        state,
        "campaign.html",
        {
            "title": campaign.name,
            "c": campaign,
            "leads": leads,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "counts": counts or {},
            "status": status or "",
            "statuses": [s.value for s in LeadStatus],
        },
        viewer=viewer,
    )
