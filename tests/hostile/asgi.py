"""A raw in-process ASGI caller: any method, raw path bytes and header bytes, as a server would hand them over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

# Far above what any in-process request needs: only there to turn a hang into a failure.
REQUEST_TIMEOUT = 10.0


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    streamed: bool = False  # an event stream we hung up on once it had started
    raised: str | None = None  # an exception that escaped the app (a server answers 500 for it)

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Request:
    method: str
    raw_path: bytes  # path and query, exactly as on the request line
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False  # no Content-Length: the body's size is not announced

    def scope(self) -> dict[str, Any]:
        path, _, query = self.raw_path.partition(b"?")
        # As uvicorn does: the request line is ASCII; the path is percent-decoded, the raw bytes kept beside it.
        decoded = unquote(path.decode("ascii"))
        headers = [(name.lower(), value) for name, value in self.headers if name.lower() != b"content-length"]
        if not self.chunked and (self.body or self.method not in ("GET", "HEAD", "OPTIONS", "DELETE")):
            headers.append((b"content-length", str(len(self.body)).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": decoded,
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }


async def call(app: ASGIApp, request: Request) -> Reply:
    """Send one request; an event stream is hung up on as soon as its first bytes arrive."""
    started: dict[str, Any] = {}
    chunks: list[bytes] = []
    body_sent = False
    hang_up = asyncio.Event()

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if _is_event_stream(started.get("headers", [])) or not message.get("more_body", False):
                hang_up.set()

    raised = None
    async with asyncio.timeout(REQUEST_TIMEOUT):
        try:
            await app(request.scope(), receive, send)
        except Exception as error:  # what uvicorn would log, answering 500 if nothing was sent yet
            raised = f"{type(error).__name__}: {error}"
    headers = list(started.get("headers", []))
    status = started.get("status", 500)
    return Reply(status, headers, b"".join(chunks), streamed=_is_event_stream(headers), raised=raised)


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and value.startswith(b"text/event-stream") for name, value in headers)


@dataclass
class WsTranscript:
    """What the app did on one WebSocket: accepted it or not, what it sent, how it closed."""

    accepted: bool = False
    texts: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def json(self) -> list[Any]:
        return [json.loads(text) for text in self.texts]


async def websocket(
    app: ASGIApp, raw_path: bytes, headers: list[tuple[bytes, bytes]] | None = None, messages: Sequence[str] = ()
) -> WsTranscript:
    """Connect, send each text message and wait for the app's next message after it, then hang up."""
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": unquote(path.decode("ascii")),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *[(name.lower(), value) for name, value in headers or []]],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "state": {},
    }
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    transcript = WsTranscript()
    async with asyncio.timeout(REQUEST_TIMEOUT):
        running = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
        try:
            await inbox.put({"type": "websocket.connect"})
            for message in [None, *messages]:
                if message is not None:
                    await inbox.put({"type": "websocket.receive", "text": message})
                if not await _next(outbox, running, transcript):
                    break
            await inbox.put({"type": "websocket.disconnect", "code": 1000})
            await running
        finally:
            running.cancel()
        while not outbox.empty():
            _record(outbox.get_nowait(), transcript)
    return transcript


async def _next(outbox: asyncio.Queue[Message], running: asyncio.Future[None], transcript: WsTranscript) -> bool:
    """Wait for the app's next message; False once it has closed the socket or finished."""
    getting = asyncio.ensure_future(outbox.get())
    either: set[asyncio.Future[Any]] = {getting, running}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not getting.done():
        getting.cancel()
        return False
    return _record(getting.result(), transcript)


def _record(message: Message, transcript: WsTranscript) -> bool:
    if message["type"] == "websocket.accept":
        transcript.accepted = True
    elif message["type"] == "websocket.send":
        transcript.texts.append(message.get("text") or message.get("bytes", b"").decode("latin-1"))
    elif message["type"] == "websocket.close":
        transcript.close_code = message.get("code", 1000)
        transcript.close_reason = message.get("reason") or ""
        return False
    return True
