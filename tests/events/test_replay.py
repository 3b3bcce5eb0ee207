"""Replay: a client that reconnects with the last seq it saw (WebSocket `since`, SSE Last-Event-ID) misses nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.events.clients import (
    Multiplexed,
    SseFollower,
    WsFollower,
    create,
    events_path,
    follow_sse,
    follow_ws,
    following,
    is_type,
    of_upload,
    patch,
    ws_url,
)
from tests.support.live_server import LiveServer
from tests.support.tus import payload, upload_id


def assert_whole_story(events: list[dict[str, Any]], length: int) -> None:
    """created, then progress (throttled: at least one, offsets rising to the length), then completed."""
    types = [e["type"] for e in events]
    assert types[0] == "created" and types[-1] == "completed"
    progress = [e["offset"] for e in events[1:-1]]
    assert set(types[1:-1]) == {"progress"} and progress == sorted(progress) and progress[-1] == length


async def finished_upload(http: httpx.AsyncClient, server: LiveServer, pieces: int = 3) -> str:
    """An upload sent in `pieces` quick PATCHes: created, throttled progress, completed."""
    url = await create(http, server, 30 * pieces)
    for n in range(pieces):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    return url


async def test_since_zero_replays_the_whole_history(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await finished_upload(http, events_server)

    follower = await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))

    assert_whole_story(follower.events, 90)
    assert follower.close_code == 1000


async def test_seq_strictly_increases_within_an_upload(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await finished_upload(http, events_server, pieces=6)

    seqs = [e["seq"] for e in (await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))).events]

    assert seqs == sorted(set(seqs))


async def test_websocket_since_replays_only_what_came_after(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await finished_upload(http, events_server)
    everything = (await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))).events

    later = await follow_ws(ws_url(events_server, events_path(url) + f"?since={everything[1]['seq']}"))

    assert later.events == everything[2:]


async def test_a_websocket_that_reconnects_with_since_misses_nothing(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 90)
    uri = ws_url(events_server, events_path(url))
    first = await follow_ws(uri, stop_after=is_type("created"))  # connects, sees the state, goes away

    for n in range(3):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    second = await follow_ws(uri + f"?since={first.events[-1]['seq']}")

    assert_whole_story(first.events + second.events, 90)
    assert first.events + second.events == (await follow_ws(uri + "?since=0")).events


async def test_sse_last_event_id_replays_what_was_missed(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 60)
    first = await follow_sse(f"{url}/events", stop_after=is_type("created"))
    last_id = first.frames[-1].id
    assert last_id is not None

    for n in range(2):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    second = await follow_sse(f"{url}/events", headers={"Last-Event-ID": last_id})

    assert [e["type"] for e in first.events + second.events] == ["created", "progress", "progress", "completed"]
    assert second.ended_by_server


async def test_sse_since_query_works_like_last_event_id(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await finished_upload(http, events_server)
    everything = (await follow_sse(f"{url}/events?since=0")).events

    later = await follow_sse(f"{url}/events?since={everything[0]['seq']}")

    assert later.events == everything[1:]


async def test_a_reconnect_after_the_upload_was_terminated_still_gets_the_end(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 60)
    first = await follow_ws(ws_url(events_server, events_path(url)), stop_after=is_type("created"))
    assert (await http.delete(url, headers={"Tus-Resumable": "1.0.0"})).status_code == 204

    second = await follow_ws(ws_url(events_server, events_path(url) + f"?since={first.events[-1]['seq']}"))

    assert [e["type"] for e in second.events] == ["terminated"]
    assert second.close_code == 1000


async def test_a_since_that_is_not_a_seq_is_refused(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 10)

    ws = await follow_ws(ws_url(events_server, events_path(url) + "?since=yesterday"))
    sse = await http.get(f"{url}/events", headers={"Last-Event-ID": "yesterday"})

    assert ws.events[0]["error_code"] == "invalid_since"
    assert ws.close_code == 4400
    assert sse.status_code == 400
    assert sse.json()["error_code"] == "invalid_since"


async def test_multiplexed_subscribe_with_since_replays_then_follows(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 90)
    for n in range(2):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    async with websockets.connect(ws_url(events_server, "events")) as ws:
        mux = Multiplexed(ws)
        await mux.request({"action": "subscribe", "upload_id": upload_id(url), "since": 0})
        assert (await patch(http, url, 60, payload(30, seed=2))).status_code == 204
        await mux.until(of_upload(url, "completed"))

    events = [m for m in mux.received if m["type"] != "subscribed"]
    history = (await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))).events
    assert [(e["type"], e["seq"], e["offset"]) for e in events] == [(e["type"], e["seq"], e["offset"]) for e in history]
    assert_whole_story(events, 90)


async def test_multiplexed_sse_replays_after_last_event_id(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, events_server, 90)
    stream = f"{events_server.endpoint}events?upload_id={upload_id(url)}"
    first = SseFollower()
    task = await following(first, stream, stop_after=of_upload(url, "progress"))
    assert (await patch(http, url, 0, payload(30))).status_code == 204
    await task  # the browser loses its connection here; EventSource reconnects with Last-Event-ID
    last_id = first.frames[-1].id
    assert last_id is not None

    assert (await patch(http, url, 30, payload(30))).status_code == 204  # missed while away
    second = SseFollower()
    task = await following(second, stream, headers={"Last-Event-ID": last_id}, stop_after=of_upload(url, "completed"))
    assert (await patch(http, url, 60, payload(30))).status_code == 204
    await task

    received = [(e["type"], e["seq"], e["offset"]) for e in first.events + second.events]
    history = (await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))).events
    assert received == [(e["type"], e["seq"], e["offset"]) for e in history if e["type"] != "created"]
    assert_whole_story(history, 90)


async def test_a_follower_connected_throughout_and_a_reconnecting_one_see_the_same_events(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 120)
    uri = ws_url(events_server, events_path(url))
    steady = WsFollower()
    steady_task = await following(steady, uri)
    first = await follow_ws(uri, stop_after=is_type("created"))

    for n in range(2):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    middle = await follow_ws(uri + f"?since={first.events[-1]['seq']}", stop_after=is_type("progress"))
    for n in range(2, 4):
        assert (await patch(http, url, 30 * n, payload(30, seed=n))).status_code == 204
    last = await follow_ws(uri + f"?since={middle.events[-1]['seq']}")
    await steady_task

    assert first.events + middle.events + last.events == steady.events


async def test_a_reconnect_with_since_after_a_restart_lost_the_history_gets_where_the_upload_stands(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log")
    server.upload_dir.mkdir()
    server.start()
    try:
        url = await create(http, server, 30)
        first = await follow_ws(ws_url(server, events_path(url)), stop_after=is_type("created"))
        assert (await patch(http, url, 0, payload(30))).status_code == 204
        server.restart()  # a single process keeps its event history in memory: the restart forgets it

        again = await follow_ws(ws_url(server, events_path(url) + f"?since={first.events[-1]['seq']}"))
    finally:
        server.stop()

    assert [e["type"] for e in again.events] == ["completed"]
    assert again.close_code == 1000
