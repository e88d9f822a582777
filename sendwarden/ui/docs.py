"""/docs and /redoc served from assets inside the installed packages: they work offline.

Swagger UI and ReDoc come from the `fastapi-offline` package, which ships their
bundles (MIT/Apache licensed); we only point FastAPI's own page builders at them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

DOCS_ASSETS = "/docs-assets"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline"))) / "static"


# ReDoc's bundle shows its logo from the vendor's CDN; we point it at our own icon.
REDOC_BUNDLE = "redoc.standalone.js"
REDOC_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = b"/ui/static/favicon.svg"


@lru_cache(maxsize=1)
def _local_redoc_bundle() -> bytes:
    return (assets_directory() / REDOC_BUNDLE).read_bytes().replace(REDOC_REMOTE_LOGO, LOCAL_LOGO)


class DocsAssets(StaticFiles):
    """The bundled Swagger UI/ReDoc files, with ReDoc's one remote URL made local."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path == REDOC_BUNDLE:
            return Response(
                _local_redoc_bundle(),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=3600"},
            )
        return await super().get_response(path, scope)


def install(app: FastAPI) -> None:
    """Call on an app created with docs_url=None and redoc_url=None."""
    app.mount(DOCS_ASSETS, DocsAssets(directory=assets_directory()), name="docs-assets")
    router = APIRouter(include_in_schema=False)
    title = app.title

    @router.get("/docs", response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - API docs",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}/ui/static/favicon.svg",
        )

    @router.get(OAUTH2_REDIRECT, response_class=HTMLResponse)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - API reference",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}/ui/static/favicon.svg",
            with_google_fonts=False,
        )

    app.include_router(router)
