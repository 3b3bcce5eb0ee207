"""Events fan out through Redis: a WebSocket on any instance sees what happens to an upload on any other."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import httpx

from tests.events.clients import WsFollower, events_path, follow_ws, paced, until, ws_url
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, create, payload


async def test_a_websocket_on_one_instance_sees_every_event_of_an_upload_written_through_another(
    a: LiveServer, b: LiveServer
) -> None:
    data = payload(600_000)
    url = create(a.endpoint, len(data))
    follower = WsFollower()
    following = asyncio.create_task(follower.run(ws_url(b, events_path(url))))
    await until(lambda: bool(follower.events))  # connected, and told the upload's state so far (created)

    async with httpx.AsyncClient(timeout=30) as http:
        # Paced, so several progress events are published along the way (one per 100 ms at most).
        body = paced(data, 50_000, 0.05)
        response = await http.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": "0"})
    assert response.status_code == 204
    await asyncio.wait_for(following, 20)

    seen = follower.events
    assert [seen[0]["type"], seen[-1]["type"]] == ["created", "completed"]
    assert follower.close_code == 1000  # the stream ends with the upload
    seqs, offsets = [event["seq"] for event in seen], [event["offset"] for event in seen]
    assert all(earlier < later for earlier, later in pairwise(seqs))
    assert all(earlier <= later for earlier, later in pairwise(offsets))
    assert offsets[-1] == len(data)
    assert len(seen) > 3  # progress in between, not only the ends

    # Everything A published, as its own replay from the shared history tells it: B showed all of it.
    history = await follow_ws(ws_url(a, events_path(url)) + "?since=0")
    assert seqs == [event["seq"] for event in history.events]
