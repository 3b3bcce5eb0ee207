"""A slow or stuck subscriber never slows an upload, and other subscribers still get every terminal event."""

from __future__ import annotations

import json
import time

import httpx

from tests.events.clients import (
    StuckWebSocket,
    WsFollower,
    create,
    events_path,
    following,
    in_pieces,
    patch,
    ws_url,
)
from tests.support.live_server import LiveServer
from tests.support.tus import payload, upload_id

MiB = 1024 * 1024
SIZE = 64 * MiB


async def timed_upload(http: httpx.AsyncClient, url: str, data: bytes) -> float:
    started_at = time.monotonic()
    response = await patch(http, url, 0, in_pieces(data, MiB))
    assert response.status_code == 204, response.text
    return time.monotonic() - started_at


async def test_a_stuck_subscriber_does_not_slow_an_upload(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    data = payload(SIZE)
    without_stuck_reader = await timed_upload(http, await create(http, events_server, SIZE), data)

    url = await create(http, events_server, SIZE)
    stuck = [StuckWebSocket(events_server, events_path(url)), StuckWebSocket(events_server, "events")]
    try:
        multiplexed = stuck[1]
        multiplexed.send_text(json.dumps({"action": "subscribe", "upload_id": upload_id(url)}))
        # Ask for more than it will ever read: the server's replies fill every buffer until it stops reading us.
        # How soon the server stops reading it depends on load; either way neither stuck client ever reads.
        multiplexed.jam({"action": "get_stats"})
        reader = WsFollower()
        reading = await following(reader, ws_url(events_server, events_path(url)))

        with_stuck_reader = await timed_upload(http, url, data)
        await reading
    finally:
        for client in stuck:
            client.close()

    assert with_stuck_reader < 2 * without_stuck_reader + 1.0, (with_stuck_reader, without_stuck_reader)
    assert reader.events[-1]["type"] == "completed"
    assert reader.events[-1]["offset"] == SIZE
