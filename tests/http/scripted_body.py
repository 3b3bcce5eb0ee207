"""Raw ASGI requests whose body misbehaves on cue: it stops mid-way (client drop) or goes silent (idle client)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tests.http.tus_client import OFFSET_STREAM, tus_headers


class ScriptedBody:
    """An ASGI `receive`: hands over `chunks` (more to come after each), then disconnects or stalls."""

    def __init__(self, chunks: Iterable[bytes], *, then: Literal["disconnect", "stall"]) -> None:
        self._chunks = list(chunks)
        self._then = then
        self.stalled = asyncio.Event()  # set once the app waits for bytes that never come
        self._hang_up = asyncio.Event()

    async def __call__(self) -> dict[str, Any]:
        if self._chunks:
            return {"type": "http.request", "body": self._chunks.pop(0), "more_body": True}
        if self._then == "stall":
            self.stalled.set()
            await self._hang_up.wait()
        return {"type": "http.disconnect"}

    def hang_up(self) -> None:
        self._hang_up.set()


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def send_raw(app: Any, method: str, path: str, headers: dict[str, str], receive: ScriptedBody) -> RawResponse:
    """One request straight into the ASGI app, bypassing httpx so the body can misbehave."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 123),
    }
    started: dict[str, Any] = {}
    body = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    response_headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in started["headers"]}
    return RawResponse(started["status"], response_headers, bytes(body))


def patch_headers(offset: int) -> dict[str, str]:
    return tus_headers(upload_offset=offset, content_type=OFFSET_STREAM)
