"""Real clients of a live server's event routes, for the auth tests: tus over httpx, WebSocket and SSE readers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import websockets

from tests.support.live_server import LiveServer

TUS = {"Tus-Resumable": "1.0.0"}
# Far above what any stream here needs: only there to turn a hang into a failure.
TIMEOUT = 15.0
Message = dict[str, Any]


def unique(prefix: str) -> str:
    """A batch name no other test on the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ws_uri(server: LiveServer, path: str, token: str | None = None) -> str:
    query = f"?token={quote(token)}" if token is not None else ""
    return f"ws://127.0.0.1:{server.port}{server.base_path}{path}{query}"


async def create(server: LiveServer, credentials: dict[str, str], length: int, metadata: str | None = None) -> str:
    headers = {**TUS, **credentials, "Upload-Length": str(length)}
    if metadata is not None:
        headers["Upload-Metadata"] = metadata
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.post(server.endpoint, headers=headers)
    assert response.status_code == 201, response.text
    location: str = response.headers["Location"]
    return location


async def upload(url: str, credentials: dict[str, str], data: bytes) -> None:
    headers = {**TUS, **credentials, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.patch(url, headers=headers, content=data)
    assert response.status_code == 204, response.text


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


class Socket:
    """One WebSocket: send JSON actions, read JSON messages, see how it closed."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.received: list[Message] = []

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def next(self) -> Message | None:
        """The next message; None once the server has closed the socket."""
        try:
            async with asyncio.timeout(TIMEOUT):
                message: Message = json.loads(await self.ws.recv())
        except websockets.ConnectionClosed:
            return None
        self.received.append(message)
        return message

    async def request(self, message: Message) -> Message:
        """Send an action; its answer is the next message that is not an event."""
        await self.send(message)
        while (reply := await self.next()) is not None:
            if reply["type"] in ("pong", "stats", "subscribed", "unsubscribed", "error"):
                return reply
        raise AssertionError(f"closed before answering {message}: {self.ws.close_code} {self.ws.close_reason}")

    async def until(self, condition: Callable[[Message], bool]) -> list[Message]:
        """Every message up to the first that meets `condition`."""
        seen = []
        while (message := await self.next()) is not None:
            seen.append(message)
            if condition(message):
                return seen
        raise AssertionError(f"closed ({self.ws.close_code} {self.ws.close_reason}) after {seen}")

    async def to_the_end(self) -> list[Message]:
        """Every message until the server closes the socket."""
        seen = []
        while (message := await self.next()) is not None:
            seen.append(message)
        return seen

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self.ws.close_reason


def completed(upload_url: str) -> Callable[[Message], bool]:
    return lambda message: message.get("upload_id") == upload_id(upload_url) and message["type"] == "completed"


async def sse_start(
    server: LiveServer, path: str, headers: dict[str, str] | None = None, token: str | None = None
) -> tuple[int, httpx.Headers, bytes]:
    """Open an SSE stream and read only its start: the status, the headers and the first bytes (or error body)."""
    params = {"token": token} if token is not None else None
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        http.stream("GET", server.endpoint + path, headers=headers or {}, params=params) as response,
    ):
        if response.status_code != 200:
            return response.status_code, response.headers, await response.aread()
        async for chunk in response.aiter_bytes():
            return response.status_code, response.headers, chunk
    raise AssertionError("the stream ended before its first bytes")


async def sse_events_until(
    server: LiveServer,
    path: str,
    headers: dict[str, str],
    condition: Callable[[Message], bool],
    started: asyncio.Event,
) -> list[Message]:
    """The data of every SSE event up to the first that meets `condition`; `started` is set once it is open."""
    seen: list[Message] = []
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(timeout=TIMEOUT) as http,
        http.stream("GET", server.endpoint + path, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            started.set()
            if line.startswith("data: "):
                seen.append(json.loads(line[len("data: ") :]))
                if condition(seen[-1]):
                    return seen
    raise AssertionError(f"the stream ended after {seen}")
