"""Connection limits, in total and per user: refused WebSockets close with a clear code and reason, SSE gets 429."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.events.clients import create, follow_ws, holding_a_place, ws_url
from tests.events.conftest import start_server
from tests.support.live_server import LiveServer
from tests.support.tus import upload_id


@pytest.fixture(scope="module")
def full_after_one(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Room for one event connection in total."""
    server = start_server(tmp_path_factory.mktemp("one-in-total"), "--max-event-connections", "1")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def one_per_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Room for two in total, one per user (without auth every client is the same anonymous user)."""
    server = start_server(
        tmp_path_factory.mktemp("one-per-user"), "--max-event-connections", "2", "--max-event-connections-per-user", "1"
    )
    yield server
    server.stop()


async def refused_websocket(server: LiveServer, path: str = "events") -> tuple[int | None, str | None]:
    follower = await follow_ws(ws_url(server, path))
    assert follower.events == []
    return follower.close_code, follower.close_reason


async def test_a_websocket_over_the_total_limit_closes_with_1013_and_a_reason(full_after_one: LiveServer) -> None:
    async with holding_a_place(full_after_one):
        code, reason = await refused_websocket(full_after_one)

    assert code == 1013
    assert reason == "the server has 1 event connections open; retry later"


async def test_a_websocket_over_the_per_user_limit_closes_with_1008_and_a_reason(one_per_user: LiveServer) -> None:
    async with holding_a_place(one_per_user):
        code, reason = await refused_websocket(one_per_user)

    assert code == 1008
    assert reason == "at most 1 event connections per user"


async def test_a_per_upload_websocket_is_refused_the_same_way(one_per_user: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        url = await create(http, one_per_user, 10)

    async with holding_a_place(one_per_user):
        refusal = await refused_websocket(one_per_user, f"{upload_id(url)}/events")

    assert refusal == (1008, "at most 1 event connections per user")


async def test_sse_over_the_limit_is_429_with_retry_after(full_after_one: LiveServer) -> None:
    async with holding_a_place(full_after_one), httpx.AsyncClient() as http:
        response = await http.get(f"{full_after_one.endpoint}events")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    assert response.json() == {
        "error_code": "too_many_event_connections",
        "error_message": "the server has 1 event connections open; retry later",
        "details": {},
    }


async def test_sse_over_the_per_user_limit_is_429(one_per_user: LiveServer) -> None:
    async with holding_a_place(one_per_user), httpx.AsyncClient() as http:
        response = await http.get(f"{one_per_user.endpoint}events")

    assert response.status_code == 429
    assert response.json()["error_message"] == "at most 1 event connections per user"


async def eventually_admitted(server: LiveServer) -> None:
    async with holding_a_place(server):
        pass


async def test_a_closed_websocket_frees_its_place(full_after_one: LiveServer) -> None:
    async with holding_a_place(full_after_one):
        pass  # the only place, taken and given back by closing

    await eventually_admitted(full_after_one)


async def test_a_closed_sse_stream_frees_its_place(full_after_one: LiveServer) -> None:
    await open_and_close_sse(full_after_one)

    await eventually_admitted(full_after_one)


async def open_and_close_sse(server: LiveServer) -> None:
    """Open the multiplexed SSE stream (once the place is free), see it start, and go away."""
    async with asyncio.timeout(5), httpx.AsyncClient() as http:
        while True:
            async with http.stream("GET", f"{server.endpoint}events") as response:
                if response.status_code == 200:
                    async for _ in response.aiter_lines():
                        return  # the stream is open: the server sent its first line
            await asyncio.sleep(0.02)


async def test_a_refused_connection_is_counted(full_after_one: LiveServer) -> None:
    async with holding_a_place(full_after_one) as ws:
        before = await _stats(ws)
        await refused_websocket(full_after_one)
        after = await _stats(ws)

    assert after["refused"] == before["refused"] + 1
    assert after["connections"] == 1


async def _stats(ws: websockets.ClientConnection) -> dict[str, Any]:
    await ws.send(json.dumps({"action": "get_stats"}))
    stats: dict[str, Any] = json.loads(await ws.recv())
    return stats
