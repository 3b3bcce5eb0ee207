"""WebSocket uploads in a scaled-out deployment: begun on one instance, resumed on another, watched from a third."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.scaleout.cluster import Cluster
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.tus import payload, sha256
from tests.ws_upload.ws_client import Session, connect, partly_uploaded

MIB = 1024 * 1024


async def test_an_upload_begun_on_a_resumes_on_b_and_is_seen_from_b(
    cluster: Cluster, a: LiveServer, b: LiveServer
) -> None:
    data = payload(2 * MIB, seed=31)
    created = await partly_uploaded(a.endpoint, data, MIB, filename="roaming.bin")

    events_url = b.endpoint.replace("http://", "ws://") + created["upload_id"] + "/events"
    async with websockets.connect(events_url) as watcher, connect(b.endpoint) as ws:
        second = Session(ws)
        resumed = await second.start({"type": "resume", "upload_id": created["upload_id"]})
        assert resumed["offset"] == MIB
        await second.send_bytes(data, MIB)
        assert (await second.receive_until("success", "error"))["type"] == "success"
        seen = []
        async with asyncio.timeout(15):
            async for text in watcher:
                seen.append(json.loads(str(text)))

    assert seen[-1]["type"] == "completed" and seen[-1]["offset"] == len(data)
    assert sha256(cluster.stored(created["url"])) == sha256(data)


@pytest.fixture
def lone(tmp_path: Path, redis_server: RedisServer) -> Iterator[LiveServer]:
    """One instance on the test's own Redis, which the test stops."""
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", "--redis-url", redis_server.url)
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


async def test_with_redis_away_the_socket_closes_1011_and_the_upload_resumes_once_it_is_back(
    lone: LiveServer, redis_server: RedisServer
) -> None:
    data = payload(300_000, seed=32)
    created = await partly_uploaded(lone.endpoint, data, 100_000)
    redis_server.stop()

    async with connect(lone.endpoint) as ws:
        refused = await Session(ws).start({"type": "resume", "upload_id": created["upload_id"]})
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert (refused["status"], refused["error_code"], ws.close_code) == (503, "lock_unavailable", 1011)

    redis_server.start()
    async with asyncio.timeout(30):
        while True:  # the instance reconnects by itself
            async with connect(lone.endpoint) as ws:
                session = Session(ws)
                try:
                    resumed = await session.start({"type": "resume", "upload_id": created["upload_id"]})
                except websockets.ConnectionClosed:
                    await asyncio.sleep(0.2)
                    continue
                await session.send_bytes(data, resumed["offset"])
                assert (await session.receive_until("success", "error"))["type"] == "success"
                break
    assert (lone.upload_dir / created["upload_id"]).read_bytes() == data
