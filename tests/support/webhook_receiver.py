"""A real HTTP receiver on 127.0.0.1 recording every webhook request (in a thread).

`statuses` scripts the answers (e.g. [500] then 200 for ever); `stop()` and
`start()` take it down and bring it back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return str(self.json["type"])

    def verify(self, secret: str) -> Any:
        return Webhook(secret).verify(self.body, self.headers)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 resets connections under load
    daemon_threads = True
    allow_reuse_address = True  # restart on the same port right after stop()


class WebhookReceiver:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (kill -9): no request arrived, as with
                    # any HTTP server; answering it would count a torn body as delivered.
                    self.close_connection = True
                    return
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        """Requests answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 20.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.delivered()
            if predicate(got):
                return got
            time.sleep(0.02)
        raise AssertionError(f"receiver timed out; got {[r.type for r in self.delivered()]}")
