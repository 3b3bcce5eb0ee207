"""A client of the WebSocket upload protocol for the tests: it keeps to the window and records every message."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import websockets

TIMEOUT = 30.0


def ws_url(endpoint: str) -> str:
    """`http://host:port/files/` → `ws://host:port/files/upload`."""
    return endpoint.replace("http://", "ws://", 1) + "upload"


@dataclass
class Session:
    """One socket: what the server said, in order."""

    ws: websockets.ClientConnection
    messages: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: int = 0
    window: int = 0
    max_frame_size: int = 0

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT):
            message: dict[str, Any] = json.loads(await self.ws.recv())
        self.messages.append(message)
        if message["type"] == "progress":
            assert message["offset"] >= self.acknowledged, "acknowledgements never go back"
            self.acknowledged = message["offset"]
        if message["type"] == "status" and "window" in message:
            self.window, self.max_frame_size = message["window"], message["max_frame_size"]
            self.acknowledged = message.get("offset", self.acknowledged)
        return message

    async def receive_until(self, *types: str) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message["type"] in types:
                return message

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def start(self, message: dict[str, Any]) -> dict[str, Any]:
        """The greeting, then a create or resume message and its answer (a status, or an error)."""
        greeting = await self.receive()
        assert greeting["type"] == "status" and greeting["status"] == "connected", greeting
        await self.send_json(message)
        return await self.receive_until("status", "error")

    async def send_bytes(self, data: bytes, start: int, *, stop_at: int | None = None) -> None:
        """Send data[start:stop_at] in frames, never more than the window beyond the acknowledged offset."""
        end = len(data) if stop_at is None else stop_at
        sent = start
        frame = min(self.max_frame_size, 64 * 1024)
        while sent < end:
            while sent - self.acknowledged >= self.window:
                message = await self.receive()
                if message["type"] == "error":
                    raise AssertionError(f"the server refused the bytes: {message}")
            piece = data[sent : min(end, sent + frame, self.acknowledged + self.window)]
            await self.ws.send(piece)
            sent += len(piece)

    async def wait_for_offset(self, offset: int) -> None:
        while self.acknowledged < offset:
            message = await self.receive()
            if message["type"] == "error":
                raise AssertionError(f"the server failed the upload: {message}")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


def connect(endpoint: str, headers: dict[str, str] | None = None) -> Any:
    return websockets.connect(ws_url(endpoint), additional_headers=headers, max_size=None, open_timeout=TIMEOUT)


async def upload(
    endpoint: str, data: bytes, metadata: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Session:
    """A whole upload on one socket, to its end (success or error) and the server's close."""
    async with connect(endpoint, headers) as ws:
        session = Session(ws)
        answer = await session.start({"type": "create", "size": len(data), **(metadata or {})})
        if answer["type"] == "error":
            return session
        await session.send_bytes(data, 0)
        await session.receive_until("success", "error")
    return session


async def partly_uploaded(endpoint: str, data: bytes, stop_at: int, **fields: Any) -> dict[str, Any]:
    """Create an upload of `data` over a socket, send its first `stop_at` bytes, wait until they are stored, and
    close the socket; the `created` status (upload_id, url) is returned."""
    async with connect(endpoint) as ws:
        session = Session(ws)
        created = await session.start({"type": "create", "size": len(data), **fields})
        await session.send_bytes(data, 0, stop_at=stop_at)
        await session.wait_for_offset(stop_at)
    return created
