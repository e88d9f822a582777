from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from sendwarden.api.deps import CurrentUser, Session
from sendwarden.api.schemas import ImportReport, ImportRowError, SuppressionCreate, SuppressionOut
from sendwarden.schemas.common import Page
from sendwarden.schemas.fields import FreeText
from sendwarden.services import suppression as suppressions
from sendwarden.services.errors import InvalidInput, NotFound
from sendwarden.storage import suppression
from sendwarden.storage.models import Suppression, SuppressionKind, SuppressionSource

router = APIRouter(tags=["suppression"])

Scope = Annotated[Literal["user", "global"], Query(description="'global' needs an admin key")]


def suppression_out(row: Suppression, created: bool | None = None) -> SuppressionOut:
    is_email = row.kind == SuppressionKind.EMAIL.value
    return SuppressionOut(
        id=row.id,
        kind=row.kind,
        value=row.value,
        email=row.value if is_email else None,
        domain=None if is_email else row.value,
        covers=suppressions.coverage(row.kind, row.value),
        reason=row.reason,
        source=row.source,
        scope="global" if row.user_id is None else "user",
        evidence=json.loads(row.evidence) if row.evidence else None,
        created_at=row.created_at,
        created=created,
    )


@router.post("/suppression", response_model=SuppressionOut, status_code=201)
async def add_suppression(
    body: SuppressionCreate, user: CurrentUser, session: Session, response: Response
) -> SuppressionOut:
    """Suppress an address or a whole (registrable) domain, for you or (admins) for everyone."""
    owner = suppressions.owner_for(user, body.scope)
    target = body.email if body.email is not None else body.domain
    assert target is not None
    kind, value = suppressions.parse_target(target)
    row, created = await suppressions.add(
        session,
        user_id=owner,
        actor_id=user.id,
        kind=kind,
        value=value,
        reason=body.reason,
        source=SuppressionSource.MANUAL,
    )
    if not created:
        response.status_code = 200
    return suppression_out(row, created)


@router.get("/suppression", response_model=Page[SuppressionOut])
async def list_suppression(
    user: CurrentUser,
    session: Session,
    q: Annotated[
        FreeText | None, Query(max_length=320, description="substring of value or reason")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[SuppressionOut]:
    rows, total = await suppression.list_visible(
        session, user_id=user.id, search=q, limit=limit, offset=offset
    )
    return Page(items=[suppression_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.delete("/suppression/{email}", response_model=SuppressionOut)
async def delete_suppression(
    email: str, user: CurrentUser, session: Session, scope: Scope = "user"
) -> SuppressionOut:
    """Lift a suppression (an address or a domain). Unknown entries answer 404."""
    row = await suppressions.remove(session, user=user, target=email, scope=scope)
    if row is None:
        raise NotFound(f"{email!r} is not on your suppression list")
    return suppression_out(row)


@router.post(
    "/suppression/import",
    response_model=ImportReport,
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def import_suppression(
    request: Request, user: CurrentUser, session: Session, scope: Scope = "user"
) -> JSONResponse:
    """Import a CSV (`email`/`domain` column, optional `reason`) sent as the request body.

    Good rows are imported; bad rows are reported with their line numbers.
    """
    owner = suppressions.owner_for(user, scope)
    data = await request.body()
    if not data.strip():
        raise InvalidInput("body", "the CSV is empty")
    result = await suppressions.import_csv(session, user_id=owner, actor_id=user.id, data=data)
    report = ImportReport(
        added=result.added,
        duplicate=result.duplicate,
        invalid=[ImportRowError(line=n, value=v, error=e) for n, v, e in result.invalid],
    )
    return JSONResponse(report.model_dump())


@router.get("/suppression/export", response_class=StreamingResponse)
async def export_suppression(user: CurrentUser, session: Session) -> StreamingResponse:
    rows = await suppression.iter_visible(session, user_id=user.id)
    return StreamingResponse(
        suppressions.export_rows(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="suppression.csv"'},
    )
