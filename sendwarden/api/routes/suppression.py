from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from sendwarden.api.deps import CurrentUser, ReadSession, Session, State
from sendwarden.api.schemas import ImportReport, ImportRowError, SuppressionCreate, SuppressionOut
from sendwarden.api.suppression_schemas import ImportAccepted, ImportJobOut
from sendwarden.schemas.common import Page
from sendwarden.schemas.fields import FreeText
from sendwarden.services import suppression as suppressions
from sendwarden.services import suppression_jobs
from sendwarden.services.errors import NotFound
from sendwarden.services.suppression_export import export_csv
from sendwarden.services.suppression_import import ImportTarget, import_stream
from sendwarden.storage import suppression, suppression_imports
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
    session: ReadSession,
    q: Annotated[
        FreeText | None,
        Query(
            max_length=320,
            description="case-insensitive prefix of the address or domain "
            "(e.g. 'ann' finds ann@x.example, 'example.' finds example.com)",
        ),
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


ImportBody = {
    "requestBody": {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "required": True,
    }
}
Prefer = Annotated[
    str | None,
    Header(
        max_length=200,
        description="'respond-async' runs the import as a background job (202 + status URL)",
    ),
]


@router.post(
    "/suppression/import",
    response_model=ImportReport,
    responses={202: {"model": ImportAccepted}},
    openapi_extra=ImportBody,
)
async def import_suppression(
    request: Request, user: CurrentUser, state: State, scope: Scope = "user", prefer: Prefer = None
) -> JSONResponse:
    """Import a CSV (`email`/`domain` column, optional `reason`) streamed as the request body.

    Any size: rows are parsed and stored in chunks as they arrive, each chunk
    committed on its own, so other requests go on meanwhile. Good rows are
    imported; bad rows are reported with their line numbers (the first 1000).
    With `Prefer: respond-async` the answer is 202 with a job whose progress
    `GET /suppression/imports/{id}` reports.
    """
    owner = suppressions.owner_for(user, scope)
    target = ImportTarget(user_id=owner, actor_id=user.id)
    if prefer is not None and "respond-async" in prefer.lower():
        path = await suppression_jobs.spool(request.stream())
        job_id = await suppression_jobs.start(
            state.db,
            path,
            target=target,
            scope=scope,
            owner_id=user.id,
            process=state.lease_owner or None,
        )
        url = str(request.url_for("get_suppression_import", import_id=job_id).path)
        body = ImportAccepted(id=job_id, state="running", status_url=url)
        return JSONResponse(body.model_dump(), status_code=202, headers={"Location": url})
    progress = await import_stream(state.db, request.stream(), target)
    report = ImportReport(
        added=progress.added,
        duplicate=progress.duplicate,
        invalid=[ImportRowError(line=n, value=v, error=e) for n, v, e in progress.invalid],
    )
    return JSONResponse(report.model_dump())


@router.get("/suppression/imports/{import_id}", response_model=ImportJobOut)
async def get_suppression_import(
    import_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user: CurrentUser, session: ReadSession
) -> ImportJobOut:
    """How far a background import got: lines read, rows added, duplicates, invalid lines."""
    job = await suppression_imports.get(session, job_id=import_id, user_id=user.id)
    if job is None:
        raise NotFound(f"no suppression import {import_id}")
    return ImportJobOut(
        id=job.id,
        state=job.state,
        scope=job.scope,
        lines=job.lines,
        added=job.added,
        duplicate=job.duplicate,
        invalid_count=job.invalid_count,
        invalid=[ImportRowError(line=n, value=v, error=e) for n, v, e in json.loads(job.invalid)],
        bytes=job.bytes,
        sha256=job.sha256,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
    )


@router.get("/suppression/export", response_class=StreamingResponse)
async def export_suppression(user: CurrentUser, state: State) -> StreamingResponse:
    """Every entry that applies to you as CSV, streamed page by page from the first row."""

    async def body() -> AsyncIterator[str]:
        async for text, _ in export_csv(state.db, user_id=user.id):
            yield text

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="suppression.csv"'},
    )
