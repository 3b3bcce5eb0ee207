"""A real HTTP hook endpoint for tests: a threaded http.server on a free loopback port that records every POST
and answers each as the running test says (JSON, another content type, an error status, or nothing at all)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.waiting import wait_until


@dataclass(frozen=True)
class Delivery:
    """One POST the endpoint received: its headers (lower-case names), its JSON body, when it arrived."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    arrived: float

    @property
    def hook(self) -> str:
        return str(self.body["Type"])

    @property
    def upload(self) -> dict[str, Any]:
        upload: dict[str, Any] = self.body["Event"]["Upload"]
        return upload

    @property
    def http_request(self) -> dict[str, Any]:
        request: dict[str, Any] = self.body["Event"]["HTTPRequest"]
        return request

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.upload.get("MetaData") or {})


@dataclass(frozen=True)
class Reply:
    """How to answer: `hang` keeps the request open without a word until the receiver stops;
    `trickle` sends headers, then one body byte every `trickle` seconds, never finishing."""

    status: int = 200
    body: Any = None  # a dict or list is sent as JSON; str or bytes as they are; None: empty body
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    trickle: float | None = None

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Answer = Callable[[Delivery], Reply]


def ok(delivery: Delivery) -> Reply:
    return Reply()


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # hundreds of hook connections may arrive at once; the default backlog is 5


class HookReceiver:
    """`idle_timeout`: a kept connection idle this long after an answer is closed, as real endpoints do (uvicorn
    after 5 s)."""

    def __init__(self, idle_timeout: float | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.answer: Answer = ok
        self.open_connections = 0
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hook-receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def start(self) -> HookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # hanging answers give up
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def of(self, hook: str, *, tag: str | None = None) -> list[Delivery]:
        """Deliveries of one hook type; with `tag`, only those of uploads whose metadata `tag` is that."""
        with self._lock:
            return [
                delivery
                for delivery in self.deliveries
                if delivery.hook == hook and (tag is None or delivery.metadata.get("tag") == tag)
            ]

    def wait_for(self, hook: str, count: int = 1, *, tag: str | None = None, timeout: float = 5.0) -> list[Delivery]:
        wait_until(lambda: len(self.of(hook, tag=tag)) >= count, timeout=timeout)
        return self.of(hook, tag=tag)

    def _record(self, delivery: Delivery) -> Reply:
        with self._lock:
            self.deliveries.append(delivery)
        return self.answer(delivery)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                """As BaseHTTPRequestHandler's, but a kept connection idle for `idle_timeout` after an answer is
                closed (the first request of a new connection is on its way: it may be slow on a busy machine)."""
                self.close_connection = True
                self.handle_one_request()
                self.connection.settimeout(receiver._idle_timeout)
                while not self.close_connection:
                    self.handle_one_request()  # a timeout closes the connection

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.open_connections += 1

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with receiver._lock:
                        receiver.open_connections -= 1

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = receiver._record(Delivery(self.path, headers, body, time.monotonic()))
                if reply.hang:
                    receiver._stopping.wait(30)
                    self.close_connection = True
                    return
                if reply.trickle is not None:
                    self._trickle(reply.trickle)
                    return
                content = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(content)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            def _trickle(self, every: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.close_connection = True
                try:
                    while not receiver._stopping.wait(every):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    pass  # the server gave up on us

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the tests read the deliveries instead

        return Handler
