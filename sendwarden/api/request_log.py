"""Request ids and one log line per HTTP request."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sendwarden.observability.logging import get_logger

log = get_logger("sendwarden.http")
_http_log = logging.getLogger("sendwarden.http")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A random prefix per process and a counter: as unique as uuid4 for telling requests
# apart in the logs, without reading the kernel's random source on every request.
_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def _new_prefix() -> None:  # a forked worker must not repeat its parent's ids
    global _PREFIX
    _PREFIX = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):016x}"


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else new_request_id()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # structlog would build the event and run its level filter to drop it (3 % of
            # a validate's CPU): the standard logger's cached answer is asked first.
            if _http_log.isEnabledFor(logging.INFO):
                # The path, not the query string: queries may carry search terms (addresses).
                path = scope["path"] if not scope["path"].startswith("/u/") else "/u/{token}"
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.clear_contextvars()
