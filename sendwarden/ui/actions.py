"""The dashboard's state-changing forms. Each goes through the same service as the API.

Every POST here checks the session's CSRF token (the CheckedForm dependency). An
admin acting on another user's row acts with that row's owner id, like the owner would.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sendwarden.api.deps import State
from sendwarden.inbound.model import ReplyClass
from sendwarden.schemas.campaigns import CampaignCreate, LeadCreate
from sendwarden.services import leads, replies, resolution
from sendwarden.services.errors import ServiceError
from sendwarden.storage import campaigns
from sendwarden.storage.models import LeadStatus
from sendwarden.ui import queries
from sendwarden.ui import session as ui_session
from sendwarden.ui.suppression_actions import MAX_IMPORT_BYTES, upload
from sendwarden.ui.web import CheckedForm, PageNotFound, SignedIn, form_text, redirect, render

router = APIRouter(prefix="/ui", include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, state: State) -> Response:
    if await ui_session.viewer_from(request, state) is not None:
        return RedirectResponse("/ui/today", status_code=303)
    return await _sign_in_form(request, state, error=None, status_code=200)


async def _sign_in_form(
    request: Request, state: State, *, error: str | None, status_code: int
) -> HTMLResponse:
    nonce = ui_session.new_login_nonce()
    context = {
        "title": "Sign in",
        "error": error,
        "signin_token": await ui_session.csrf_token_for(state, nonce),
    }
    response = await render(request, state, "sign_in.html", context, status_code=status_code)
    await ui_session.set_login_cookie(response, request, state, nonce)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, state: State) -> Response:
    form = await request.form()
    nonce = await ui_session.login_nonce(request, state)
    token = form.get(ui_session.CSRF_FIELD)
    if (
        nonce is None
        or not isinstance(token, str)
        or not await ui_session.check_csrf(state, nonce, token)
    ):
        return await _sign_in_form(
            request, state, error="The form expired; please sign in again.", status_code=403
        )
    key = form.get("api_key")
    key = key.strip() if isinstance(key, str) else ""
    found = None
    if key and len(key) <= 200 and key.isascii():
        found = await state.keys.check(key)
    if found is None:
        return await _sign_in_form(
            request, state, error="That API key is unknown or revoked.", status_code=401
        )
    response = RedirectResponse("/ui/today", status_code=303)
    await ui_session.start_session(response, request, state, found.key_id)
    return response


@router.post("/sign-out")
async def sign_out(state: State, viewer: SignedIn, form: CheckedForm) -> RedirectResponse:
    del form
    response = RedirectResponse("/ui/sign-in", status_code=303)
    await ui_session.end_session(response, state, viewer)
    return response


@router.post("/attempts/{attempt_id}/resolve")
async def resolve_attempt(
    attempt_id: Id, state: State, viewer: SignedIn, form: CheckedForm
) -> Response:
    outcome = form.get("outcome")
    back = f"/ui/attempts/{attempt_id}"
    if outcome not in ("sent", "failed"):
        return await redirect(state, back, err="Choose whether the message was sent or failed.")
    try:
        async with state.db.transaction() as session:
            attempt = await queries.get_attempt(session, viewer.scope, attempt_id)
            if attempt is None:
                raise PageNotFound(f"attempt {attempt_id} not found")
            await resolution.resolve_unknown(
                session,
                user_id=attempt.user_id,
                attempt_id=attempt_id,
                outcome="sent" if outcome == "sent" else "failed",
                note=form_text(form, "note", 1000),
            )
    except ServiceError as exc:
        return await redirect(state, back, err=str(exc))
    return await redirect(state, back, msg=f"Attempt {attempt_id} resolved as {outcome}")


@router.post("/replies/{reply_id}/reclassify")
async def reclassify_reply(
    reply_id: Id, state: State, viewer: SignedIn, form: CheckedForm
) -> Response:
    try:
        new_class = ReplyClass(str(form.get("classification")))
    except ValueError:
        return await redirect(state, "/ui/inbox", err="Choose one of the reply classes.")
    async with state.db.transaction() as session:
        reply = await queries.get_reply(session, viewer.scope, reply_id)
        if reply is None:
            raise PageNotFound(f"reply {reply_id} not found")
        await replies.reclassify(session, reply, new_class, actor_id=viewer.user.id)
    return await redirect(state, "/ui/inbox", msg=f"Reply {reply_id} is now {new_class.value}")


@router.post("/campaigns")
async def create_campaign(state: State, viewer: SignedIn, form: CheckedForm) -> Response:
    try:
        body = CampaignCreate(
            name=form_text(form, "name", 200) or "",
            description=form_text(form, "description", 5000),
        )
    except ValidationError:
        return await redirect(
            state, "/ui/campaigns", err="Give the campaign a name (up to 200 characters)."
        )
    async with state.db.transaction() as session:
        campaign = await campaigns.create_campaign(
            session, user_id=viewer.user.id, name=body.name, description=body.description
        )
    return await redirect(state, f"/ui/campaigns/{campaign.id}", msg="Campaign created")


LEAD_COLUMNS = ("website_url", "contact_email", "contact_name", "notes", "consent")


def _lead_rows(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    rows: list[dict[str, Any]] = []
    for raw in reader:
        row: dict[str, Any] = {
            k: (v or "").strip() for k, v in raw.items() if k in LEAD_COLUMNS and v
        }
        if "consent" in row:
            row["consent"] = row["consent"].lower() in {"1", "true", "yes", "y"}
        rows.append(row)
    return rows


@router.post("/campaigns/{campaign_id}/leads/import")
async def import_leads(
    campaign_id: Id, state: State, viewer: SignedIn, form: CheckedForm
) -> Response:
    back = f"/ui/campaigns/{campaign_id}"
    data = await upload(form)
    if data is None or len(data) > MAX_IMPORT_BYTES:
        return await redirect(
            state, back, err="Choose a CSV file up to 5 MB with a website_url column."
        )
    added = skipped = 0
    failed: list[str] = []
    async with state.db.transaction() as session:
        campaign = await queries.get_campaign(session, viewer.scope, campaign_id)
        if campaign is None:
            raise PageNotFound(f"campaign {campaign_id} not found")
        for line, raw in enumerate(_lead_rows(data), start=2):
            try:
                item = LeadCreate.model_validate(raw)
                _, created = await leads.add_lead(
                    session,
                    user_id=campaign.user_id,
                    campaign_id=campaign.id,
                    data=leads.LeadInput.from_body(item),
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                failed.append(f"line {line}: {where} {first.get('msg', 'invalid')}")
                continue
            except ServiceError as exc:
                failed.append(f"line {line}: {exc}")
                continue
            added, skipped = added + int(created), skipped + int(not created)
    message = f"Leads: {added} added, {skipped} already in the campaign"
    if failed:
        return await redirect(
            state, back, msg=message, err=f"{len(failed)} rows skipped: {'; '.join(failed[:3])}"
        )
    return await redirect(state, back, msg=message)


@router.post("/campaigns/{campaign_id}/leads/{lead_id}/status")
async def set_lead_status(
    campaign_id: Id, lead_id: Id, state: State, viewer: SignedIn, form: CheckedForm
) -> Response:
    back = f"/ui/campaigns/{campaign_id}"
    try:
        status = LeadStatus(str(form.get("status")))
    except ValueError:
        return await redirect(state, back, err="Choose one of the lead statuses.")
    async with state.db.transaction() as session:
        campaign = await queries.get_campaign(session, viewer.scope, campaign_id)
        lead = (
            await campaigns.get_lead(
                session, user_id=campaign.user_id, campaign_id=campaign_id, lead_id=lead_id
            )
            if campaign is not None
            else None
        )
        if lead is None:
            raise PageNotFound(f"lead {lead_id} not found in campaign {campaign_id}")
        await leads.set_status(session, lead, status)
    return await redirect(state, back, msg=f"Lead {lead_id} is now {status.value}")
