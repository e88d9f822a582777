"""The operator dashboard under /ui and the offline API docs: `install(app)` wires both."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sendwarden.ui import actions, docs, pages, record_pages, suppression_actions
from sendwarden.ui.session import NotSignedIn
from sendwarden.ui.web import HERE, BadCsrf, PageNotFound, render

# Scripts and styles only from this app: a planted payload could not run even if an
# escaping bug let one through. The charts are inline SVG (no scripts).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class UiHeaders:
    """Security headers on every /ui response (pure ASGI: keeps streaming responses intact)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/ui"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    del exc
    if request.method == "GET":
        return RedirectResponse("/ui/sign-in", status_code=303)
    state = request.app.state.sendwarden
    return await render(
        request,
        state,
        "message.html",
        {"title": "Sign in first", "text": "Your session ended."},
        status_code=401,
    )


async def _bad_csrf(request: Request, exc: Exception) -> Response:
    del exc
    state = request.app.state.sendwarden
    text = "The form was missing its security token or it did not match. Reload and try again."
    return await render(
        request, state, "message.html", {"title": "Form refused", "text": text}, status_code=403
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    state = request.app.state.sendwarden
    return await render(
        request, state, "message.html", {"title": "Not found", "text": str(exc)}, status_code=404
    )


def install(app: FastAPI) -> None:
    docs.install(app)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(actions.router)
    app.include_router(suppression_actions.router)
    app.include_router(pages.router)
    app.include_router(record_pages.router)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(BadCsrf, _bad_csrf)
    app.add_exception_handler(PageNotFound, _not_found)
    app.add_middleware(UiHeaders)


__all__ = ["HTMLResponse", "install"]
