"""WebSocket uploads in a scaled-out deployment: begun on one instance, resumed on another, watched from a third."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.scaleout.cluster import Cluster
from tests.support.live_server import LiveServer
from tests.support.tus import payload, sha256
from tests.ws_upload.ws_client import Session, connect

MIB = 1024 * 1024


async def test_an_upload_begun_on_a_resumes_on_b_and_is_seen_from_b(
    cluster: Cluster, a: LiveServer, b: LiveServer
) -> None:
    data = payload(2 * MIB, seed=31)
    async with connect(a.endpoint) as ws:
        first = Session(ws)
        created = await first.start({"type": "create", "size": len(data), "filename": "roaming.bin"})
        await first.send_bytes(data, 0, stop_at=MIB)
        await first.wait_for_offset(MIB)

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
