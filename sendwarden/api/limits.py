"""Reject oversized request bodies before they are read into memory."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bulk endpoints take files; everything else takes small JSON documents.
LARGE_BODY_PATHS = ("/leads/bulk",)
LARGE_BODY_LIMIT = 20 * 1024 * 1024
# Parsed as they stream in with bounded memory, so any size is fine.
STREAMED_BODY_PATHS = ("/suppression/import",)


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI passes it through its body parsing as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {limit} bytes")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _limit_for(self, path: str) -> int | None:
        if path.endswith(STREAMED_BODY_PATHS):
            return None
        if path.endswith(LARGE_BODY_PATHS):
            return max(self.max_bytes, LARGE_BODY_LIMIT)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _reject(send, limit)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _reject(send, limit)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"Request body too large: the limit is {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
