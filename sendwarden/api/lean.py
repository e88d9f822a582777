"""For the hottest routes: what FastAPI's dependency injection would do, done by hand.

Solving a route's dependencies (state, bearer credentials, user, body model) cost
more CPU than everything else a `POST /policy/validate` does, so such a route
takes only the `Request` and calls these. The OpenAPI document still shows its
body and its API-key requirement (`openapi_body`), and errors have the same shape:
a bad key is refused before the body is read, and an invalid body raises the
`RequestValidationError` that FastAPI would have raised.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


async def json_body(request: Request, model: type[Model]) -> Model:
    """The request body parsed into `model`, or a 422 naming each bad field."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


def optional_header(request: Request, name: str, *, max_length: int) -> str | None:
    """A header's value, or None without it; a 422 naming it when it is too long."""
    value = request.headers.get(name)
    if value is not None and len(value) > max_length:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {max_length} characters",
                    "input": None,  # not echoed back
                }
            ]
        )
    return value


_BODIES: dict[str, type[BaseModel]] = {}
REF = "#/components/schemas/{model}"


def openapi_body(
    model: type[BaseModel], *, headers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """`openapi_extra` for a lean route: its JSON body, optional header parameters
    (OpenAPI parameter objects) and the bearer-key requirement."""
    _BODIES[model.__name__] = model
    return {
        **({"parameters": headers} if headers else {}),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        },
        "security": [{"HTTPBearer": []}],
    }


def publish_bodies(app: FastAPI) -> None:
    """Put the lean routes' body models in the document's components, as FastAPI would."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, model in _BODIES.items():
            found = model.model_json_schema(ref_template=REF)
            for nested, definition in found.pop("$defs", {}).items():
                schemas.setdefault(nested, definition)
            schemas.setdefault(name, found)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
