"""SSE, in-process: keep-alive comments on idle streams (every 15 s; 50 ms here) and forgetting clients that leave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message

import tusd_py.http.events
from tusd_py import Settings, create_app

KEEPALIVE = b": keep-alive\n\n"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(Settings(upload_dir=tmp_path / "uploads", progress_interval=0.0))
    yield application
    await application.state.background.stop()


@pytest.fixture
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep-alive every 50 ms instead of 15 s."""
    monkeypatch.setattr(tusd_py.http.events, "KEEPALIVE_SECONDS", 0.05)


class SseExchange:
    """One GET on the app, driven as a server would: the body as it streams, and a disconnect when we are done."""

    def __init__(self, app: Starlette, path: str) -> None:
        self.app = app
        self.path = path
        self.status: int | None = None
        self.body = bytearray()
        self._asked = False
        self._gone = asyncio.Event()
        self._changed = asyncio.Event()
        self.ended = False  # the app finished the response

    async def _receive(self) -> Message:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))
        self._changed.set()

    async def run(self) -> None:
        path, _, query = self.path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        try:
            await self.app(scope, self._receive, self._send)
        finally:
            self.ended = True
            self._changed.set()

    async def until(self, condition: Callable[[bytes], bool], timeout: float = 5.0) -> None:
        """Until the body so far meets `condition`, or the response has ended."""
        async with asyncio.timeout(timeout):
            while not condition(bytes(self.body)) and not self.ended:
                self._changed.clear()
                await self._changed.wait()

    def disconnect(self) -> None:
        self._gone.set()


async def streaming(app: Starlette, path: str) -> tuple[SseExchange, asyncio.Task[None]]:
    exchange = SseExchange(app, path)
    return exchange, asyncio.create_task(exchange.run())


@pytest.mark.usefixtures("quick_keepalive")
async def test_an_idle_stream_sends_a_keep_alive_comment(app: Starlette) -> None:
    exchange, task = await streaming(app, "/files/events")

    await exchange.until(lambda body: KEEPALIVE in body)
    exchange.disconnect()
    await asyncio.wait_for(task, 5)

    assert exchange.status == 200
    assert bytes(exchange.body).startswith(b"retry: 2000\n\n" + KEEPALIVE)


@pytest.mark.usefixtures("quick_keepalive")
async def test_an_idle_stream_stays_open_across_keep_alives(app: Starlette) -> None:
    exchange, task = await streaming(app, "/files/events")

    await exchange.until(lambda body: body.count(KEEPALIVE) >= 3)
    ended_by_itself = exchange.ended
    exchange.disconnect()
    await asyncio.wait_for(task, 5)

    assert not ended_by_itself, bytes(exchange.body)
    assert bytes(exchange.body) == b"retry: 2000\n\n" + KEEPALIVE * 3


@pytest.mark.usefixtures("quick_keepalive")
async def test_an_upload_stream_still_delivers_events_after_a_keep_alive(app: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        created = await http.post("/files/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5"})
        url = created.headers["location"]
        exchange, task = await streaming(app, f"/files/{url.rsplit('/', 1)[1]}/events")
        await exchange.until(lambda body: KEEPALIVE in body)

        response = await http.patch(
            url,
            content=b"hello",
            headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert response.status_code == 204
        await asyncio.wait_for(task, 5)  # the stream ends by itself after `completed`

    body = bytes(exchange.body)
    assert b"event: completed" in body, body
    assert body.index(KEEPALIVE) < body.index(b"event: completed")


async def test_a_disconnected_sse_client_is_forgotten(app: Starlette) -> None:
    exchange, task = await streaming(app, "/files/events")
    await exchange.until(lambda body: body.startswith(b"retry:"))
    assert app.state.connections.stats()["connections"] == 1

    exchange.disconnect()
    await asyncio.wait_for(task, 5)

    assert app.state.connections.stats()["connections"] == 0
    assert app.state.bus.subscriber_count == 0
