"""Translate every failure into a clear JSON error: never a stack trace, never a secret."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from sendwarden.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotConfigured,
    NotFound,
    OutcomeNotRecorded,
    UpstreamFailed,
)

log = logging.getLogger("sendwarden.api")

GENERIC_500 = {"detail": "An internal error occurred"}

# The 422 body that _on_validation and InvalidInput produce, published in place of
# FastAPI's default `{"detail": [...]}` so that clients see what they actually get.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "title": "Detail"},
        "errors": {
            "type": "array",
            "title": "Errors",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "title": "Field"},
                    "message": {"type": "string", "title": "Message"},
                },
            },
        },
    },
}


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _location(tuple(e.get("loc", ()))), "message": _validation_message(e)}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    # The offending input is deliberately not echoed back (it may be huge or hostile).
    return JSONResponse(
        status_code=422, content={"detail": f"Invalid request: {summary}", "errors": errors}
    )


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )


async def _on_service(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        return JSONResponse(
            status_code=422,
            content={"detail": str(exc), "errors": [{"field": exc.field, "message": exc.message}]},
        )
    statuses: tuple[tuple[type[Exception], int], ...] = (
        (NotFound, 404),
        (Conflict, 409),
        (Forbidden, 403),
        (NotConfigured, 503),
        (OutcomeNotRecorded, 503),
        (UpstreamFailed, 502),
    )
    status = next((code for kind, code in statuses if isinstance(exc, kind)), 400)
    return JSONResponse(status_code=status, content={"detail": str(exc)})


async def _on_database(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", type(exc).__name__)
    return JSONResponse(
        status_code=503,
        content={"detail": "The database is unavailable; nothing was changed. Try again later."},
        headers={"Retry-After": "5"},
    )


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(status_code=500, content=GENERIC_500)


def _publish_validation_error_shape(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    from sendwarden.services.errors import ServiceError

    _publish_validation_error_shape(app)

    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ServiceError, _on_service)
    app.add_exception_handler(OperationalError, _on_database)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(PoolTimeout, _on_database)
    app.add_exception_handler(ConnectionError, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
