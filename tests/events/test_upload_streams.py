"""GET B{id}/events: one upload's live events over WebSocket (when upgraded) or Server-Sent Events."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.events.clients import (
    SseFollower,
    WsFollower,
    create,
    events_path,
    follow_sse,
    follow_ws,
    following,
    patch,
    started,
    upload,
    ws_url,
)
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, payload, upload_id

pytestmark = pytest.mark.stores("file", "s3")  # events report what the store keeps, either store


async def test_websocket_sends_the_upload_events_then_closes_normally(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 1000)
    follower = WsFollower()
    task = await following(follower, ws_url(events_server, events_path(url)))

    await upload(http, url, payload(1000))
    await task

    assert [e["type"] for e in follower.events] == ["created", "progress", "completed"]
    assert {e["upload_id"] for e in follower.events} == {upload_id(url)}
    assert (follower.close_code, follower.close_reason) == (1000, "stream ended")


async def test_sse_sends_the_upload_events_then_ends_the_response(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 1000)
    follower = SseFollower()
    task = await following(follower, f"{url}/events")

    await upload(http, url, payload(1000))
    await task

    assert follower.status == 200
    assert follower.headers is not None and follower.headers["content-type"].startswith("text/event-stream")
    assert follower.ended_by_server
    assert [e["type"] for e in follower.events] == ["created", "progress", "completed"]


async def test_each_sse_frame_carries_the_seq_as_id_and_the_type_as_event_name(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)
    await upload(http, url, payload(10))

    sse = await follow_sse(f"{url}/events?since=0")

    event_frames = [frame for frame in sse.frames if frame.data is not None]
    assert event_frames
    for frame in event_frames:
        assert frame.id == str(frame.json["seq"])
        assert frame.event == frame.json["type"]
    assert sse.frames[0].retry == "2000"


async def test_a_stream_opened_after_completion_shows_the_completion_and_ends(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)
    await upload(http, url, payload(10))

    ws = await follow_ws(ws_url(events_server, events_path(url)))
    sse = await follow_sse(f"{url}/events")

    assert [e["type"] for e in ws.events] == ["completed"]
    assert ws.close_code == 1000
    assert [e["type"] for e in sse.events] == ["completed"]
    assert sse.ended_by_server


async def test_a_terminated_upload_ends_its_stream_with_the_terminated_event(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 100)
    await upload(http, url, payload(40))
    follower = WsFollower()
    task = await following(follower, ws_url(events_server, events_path(url)))

    assert (await http.delete(url, headers=TUS)).status_code == 204
    await task

    assert follower.events[-1]["type"] == "terminated"
    assert follower.events[-1]["status"] == "terminated"
    assert follower.close_code == 1000


async def test_many_clients_of_one_upload_each_get_every_event(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 300_000)
    followers: list[WsFollower | SseFollower] = [WsFollower() for _ in range(4)] + [SseFollower() for _ in range(2)]
    uri = ws_url(events_server, events_path(url))
    tasks = [
        asyncio.create_task(f.run(uri) if isinstance(f, WsFollower) else f.run(f"{url}/events")) for f in followers
    ]
    for task, follower in zip(tasks, followers, strict=True):
        await started(task, follower.connected)

    for offset in range(0, 300_000, 100_000):
        response = await patch(http, url, offset, payload(100_000, seed=offset))
        assert response.status_code == 204
    await asyncio.gather(*tasks)

    seqs = [e["seq"] for e in followers[0].events]
    assert followers[0].events[-1]["type"] == "completed"
    assert len(seqs) >= 3  # created, at least one (throttled) progress, completed
    for follower in followers[1:]:
        assert [e["seq"] for e in follower.events] == seqs


async def test_websocket_for_an_unknown_upload_says_why_and_closes_with_4404(events_server: LiveServer) -> None:
    follower = await follow_ws(ws_url(events_server, "0123456789abcdef0123456789abcdef/events"))

    assert follower.events[0]["type"] == "error"
    assert follower.events[0]["error_code"] == "upload_not_found"
    assert follower.close_code == 4404


async def test_sse_for_an_unknown_upload_is_a_404_json_error(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{events_server.endpoint}0123456789abcdef0123456789abcdef/events")

    assert response.status_code == 404
    assert response.json()["error_code"] == "upload_not_found"
    assert set(response.json()) == {"error_code", "error_message", "details"}
