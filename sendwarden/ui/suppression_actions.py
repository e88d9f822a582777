"""Dashboard forms on the suppression list: add, remove, import and export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from sendwarden.api.deps import State
from sendwarden.services import suppression as suppressions
from sendwarden.services.errors import ServiceError
from sendwarden.services.suppression_export import export_csv
from sendwarden.services.suppression_import import ImportTarget, import_stream
from sendwarden.storage.models import SuppressionSource, User
from sendwarden.ui import queries
from sendwarden.ui.web import CheckedForm, PageNotFound, SignedIn, form_text, redirect

router = APIRouter(prefix="/ui", include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@router.post("/suppression")
async def add_suppression(state: State, viewer: SignedIn, form: CheckedForm) -> Response:
    target = form_text(form, "target", 320)
    if target is None:
        return await redirect(state, "/ui/suppression", err="Enter an email address or a domain.")
    reason = form_text(form, "reason", 1000)
    scope = "global" if form.get("scope") == "global" else "user"
    try:
        async with state.db.transaction() as session:
            owner = suppressions.owner_for(viewer.user, scope)
            kind, value = suppressions.parse_target(target)
            _, created = await suppressions.add(
                session,
                user_id=owner,
                actor_id=viewer.user.id,
                kind=kind,
                value=value,
                reason=reason,
                source=SuppressionSource.MANUAL,
            )
    except ServiceError as exc:
        return await redirect(state, "/ui/suppression", err=str(exc))
    note = "Suppressed" if created else "Already suppressed:"
    return await redirect(state, "/ui/suppression", msg=f"{note} {value}")


@router.post("/suppression/{suppression_id}/remove")
async def remove_suppression(
    suppression_id: Id, state: State, viewer: SignedIn, form: CheckedForm
) -> Response:
    del form
    try:
        async with state.db.transaction() as session:
            row = await queries.get_suppression(session, viewer.scope, suppression_id)
            if row is None:
                raise PageNotFound(f"suppression {suppression_id} not found")
            actor, scope = viewer.user, "global" if row.user_id is None else "user"
            if row.user_id is not None and row.user_id != viewer.user.id:
                owner = await session.get(User, row.user_id)  # only an admin gets here
                assert owner is not None
                actor = owner
            removed = await suppressions.remove(session, user=actor, target=row.value, scope=scope)
    except ServiceError as exc:
        return await redirect(state, "/ui/suppression", err=str(exc))
    if removed is None:
        return await redirect(state, "/ui/suppression", err="That entry was already removed.")
    return await redirect(state, "/ui/suppression", msg=f"Removed {removed.value}")


async def upload(form: Any, name: str = "file") -> bytes | None:
    upload = form.get(name)
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        return data if data.strip() else None
    text = form.get("csv_text")
    return text.encode() if isinstance(text, str) and text.strip() else None


@router.post("/suppression/import")
async def import_suppression(state: State, viewer: SignedIn, form: CheckedForm) -> Response:
    data = await upload(form)
    if data is None:
        return await redirect(
            state, "/ui/suppression", err="Choose a CSV file (or paste rows) to import."
        )
    if len(data) > MAX_IMPORT_BYTES:
        return await redirect(
            state, "/ui/suppression", err="The CSV is larger than 5 MB; split it."
        )
    scope = "global" if form.get("scope") == "global" else "user"
    try:
        target = ImportTarget(
            user_id=suppressions.owner_for(viewer.user, scope), actor_id=viewer.user.id
        )
        result = await import_stream(state.db, _one_chunk(data), target)
    except ServiceError as exc:
        return await redirect(state, "/ui/suppression", err=str(exc))
    message = f"Imported: {result.added} added, {result.duplicate} already there"
    if result.invalid:
        shown = "; ".join(f"line {n}: {error}" for n, _, error in result.invalid[:3])
        return await redirect(
            state,
            "/ui/suppression",
            msg=message,
            err=f"{result.invalid_count} rows skipped ({shown})",
        )
    return await redirect(state, "/ui/suppression", msg=message)


@router.get("/suppression/export")
async def export_suppression(state: State, viewer: SignedIn) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        async for text, _ in export_csv(state.db, user_id=viewer.user.id):
            yield text

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="suppression.csv"'},
    )


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
