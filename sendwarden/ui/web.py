"""Shared plumbing of the dashboard: templates, the signed-in viewer, CSRF, flash messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sendwarden import __version__
from sendwarden.api.deps import State
from sendwarden.api.state import AppState
from sendwarden.ui import session as ui_session
from sendwarden.ui.session import CSRF_FIELD, NotSignedIn, Viewer

HERE = Path(__file__).parent
PAGE_SIZE = 50

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every template is HTML: escape everything user-supplied
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class PageNotFound(Exception):
    """Not there, or not the viewer's: both answer 404 (never reveal another user's rows)."""


class BadCsrf(Exception):
    """A state-changing form without the session's CSRF token."""


async def current_viewer(request: Request, state: State) -> Viewer:
    viewer = await ui_session.viewer_from(request, state)
    if viewer is None:
        raise NotSignedIn()
    return viewer


SignedIn = Annotated[Viewer, Depends(current_viewer)]


async def checked_form(request: Request, state: State, viewer: SignedIn) -> Mapping[str, Any]:
    """The POSTed form, once its CSRF token matched the session's; else BadCsrf."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not await ui_session.check_csrf(state, viewer.nonce, token):
        raise BadCsrf()
    return form


CheckedForm = Annotated[Mapping[str, Any], Depends(checked_form)]


def local_time(value: datetime | None, timezone: str) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


async def render(
    request: Request,
    state: AppState,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    timezone = state.settings.sendwarden_timezone
    csrf = await ui_session.csrf_token_for(state, viewer.nonce) if viewer is not None else ""
    flash = await ui_session.read_flash(state, request.query_params.get("flash"))
    html = environment.get_template(template).render(
        request_path=request.url.path,
        viewer=viewer,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf,
        timezone=timezone,
        version=__version__,
        when=lambda value: local_time(value, timezone),
        flash=flash[0],
        flash_error=flash[1],
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


async def redirect(
    state: AppState, path: str, *, msg: str | None = None, err: str | None = None
) -> RedirectResponse:
    """303 back to a page with a one-line message.

    The message travels signed and expires after a minute, so nobody can craft a link
    that makes the dashboard display text of their choosing.
    """
    if not (msg or err):
        return RedirectResponse(path, status_code=303)
    token = await ui_session.sign_flash(state, (msg or "")[:300], (err or "")[:300])
    return RedirectResponse(f"{path}?{urlencode({'flash': token})}", status_code=303)


def form_text(form: Mapping[str, Any], name: str, max_length: int = 1000) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:max_length] if value else None
