"""Every HTTP route of the app, with its full path, so that no endpoint escapes a test.

FastAPI >= 0.130 keeps included routers nested in `app.routes` (as `_IncludedRouter`
entries); `fastapi.routing.iter_route_contexts` resolves them to the effective routes
with their full prefixed paths. Older versions list flat `APIRoute`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

# The only routes reachable without an API key (product.md §2, plus the docs UI).
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/u/{token}"),
        ("POST", "/u/{token}"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),  # part of the Swagger UI served at /docs
        ("GET", "/redoc"),
        ("GET", "/openapi.json"),
    }
)


# The dashboard authenticates with a session cookie, not an API key: its routes have their
# own inventory (`ui_routes`) and tests (tests/test_ui_http.py), and stay out of the
# API-key matrices.
UI_PREFIX = "/ui"


def is_ui_path(path: str) -> bool:
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def public(self) -> bool:
        return self.key in PUBLIC_ROUTES

    def url(self, **values: Any) -> str:
        return _PARAM.sub(lambda m: str(values[m.group(1)]), self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _flat_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, set[str]]]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before nested routers: app.routes is already flat
        for route in routes:
            yield getattr(route, "path", ""), set(getattr(route, "methods", None) or ())
        return
    for context in iter_route_contexts(routes):
        yield context.path or "", set(context.methods or ())


def _all_routes(app: FastAPI) -> list[RouteInfo]:
    found = {
        RouteInfo(method, path)
        for path, methods in _flat_routes(app.routes)
        for method in methods
        if method != "HEAD" and path
    }
    return sorted(found, key=lambda r: (r.path, r.method))


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """(method, full path) of every API route; HEAD is left out (it mirrors GET)."""
    return [r for r in _all_routes(app) if not is_ui_path(r.path)]


def ui_routes(app: FastAPI) -> list[RouteInfo]:
    """Every dashboard route (session cookie instead of an API key)."""
    return [r for r in _all_routes(app) if is_ui_path(r.path)]


def protected_routes(app: FastAPI) -> list[RouteInfo]:
    return [r for r in app_routes(app) if not r.public]


def openapi_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
