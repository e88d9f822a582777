"""The event catalogue in the OpenAPI description (`webhooks` of OpenAPI 3.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, create_model

from sendwarden.webhooks.catalogue import EVENTS, TEST_EVENT, TestData

DESCRIPTION = (
    "POSTed to your endpoint as JSON, signed per Standard Webhooks: verify the"
    " `webhook-signature` header (e.g. `standardwebhooks.Webhook(secret).verify(body,"
    " headers)`) and deduplicate by `webhook-id` (retries repeat it)."
)


def document(app: FastAPI) -> None:
    """One OpenAPI webhook per event type, its body schema named after the event."""
    test_ping = (TestData, "Sent only by `POST /webhooks/{id}/test` (not subscribable).")
    for type_, (data_model, summary) in {**EVENTS, TEST_EVENT: test_ping}.items():
        fields: dict[str, Any] = {
            "type": (Literal[type_], ...),
            "timestamp": (datetime, ...),
            "data": (data_model, ...),
        }
        body = create_model("Event_" + type_.replace(".", "_"), __base__=BaseModel, **fields)
        _register(app, type_, summary, body)


def _register(app: FastAPI, type_: str, summary: str, body: type[BaseModel]) -> None:
    async def receiver(event: Any) -> None:
        pass

    receiver.__annotations__["event"] = body  # a runtime type: not expressible statically
    app.webhooks.post(type_, summary=summary, description=DESCRIPTION)(receiver)
