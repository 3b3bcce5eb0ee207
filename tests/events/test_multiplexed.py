"""GET B events: one WebSocket for many uploads and batches (subscribe, unsubscribe, ping, stats), or filtered SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from tests.events.clients import (
    Multiplexed,
    SseFollower,
    create,
    following,
    of_upload,
    upload,
    ws_url,
)
from tests.support.live_server import LiveServer
from tests.support.tus import payload, upload_id


@pytest.fixture
async def mux(events_server: LiveServer) -> AsyncIterator[Multiplexed]:
    async with websockets.connect(ws_url(events_server, "events")) as ws:
        yield Multiplexed(ws)


async def still_open(mux: Multiplexed) -> bool:
    reply = await mux.request({"action": "ping"})
    return bool(reply["type"] == "pong")


# -- subscriptions ----------------------------------------------------------------------------------


async def test_subscribing_to_an_upload_is_confirmed(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)

    reply = await mux.request({"action": "subscribe", "upload_id": upload_id(url)})

    assert reply == {"type": "subscribed", "upload_id": upload_id(url)}


async def test_a_subscribed_upload_sends_its_events_and_no_other_uploads_do(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    watched = await create(http, events_server, 10)
    other = await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "upload_id": upload_id(watched)})

    await upload(http, other, payload(10))
    await upload(http, watched, payload(10))
    received = await mux.until(of_upload(watched, "completed"))

    assert {e["upload_id"] for e in received} == {upload_id(watched)}
    assert [e["type"] for e in received] == ["progress", "completed"]


async def test_the_socket_stays_open_after_a_subscribed_upload_completes(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "upload_id": upload_id(url)})
    await upload(http, url, payload(10))
    await mux.until(of_upload(url, "completed"))

    assert await still_open(mux)


async def test_one_socket_follows_several_uploads(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    first, second = await create(http, events_server, 10), await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "upload_id": upload_id(first)})
    await mux.request({"action": "subscribe", "upload_id": upload_id(second)})

    await upload(http, first, payload(10))
    await upload(http, second, payload(10))
    received = await mux.until(of_upload(second, "completed"))

    completed = [e["upload_id"] for e in received if e["type"] == "completed"]
    assert completed == [upload_id(first), upload_id(second)]


async def test_subscribing_to_a_batch_sends_its_files_and_batch_events(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    batch = "mux-batch-subscription"
    assert await mux.request({"action": "subscribe", "batch": batch}) == {"type": "subscribed", "batch": batch}
    url = await create(http, events_server, 10, {"batch": batch})

    await upload(http, url, payload(10))
    received = await mux.until(lambda e: e["type"] == "batch-completed")

    assert [e["type"] for e in received if e.get("upload_id") == upload_id(url)] == ["created", "progress", "completed"]
    assert {e["batch"] for e in received} == {batch}
    assert received[-1]["finished"] == 1


async def test_subscribing_to_a_batch_is_confirmed(mux: Multiplexed, events_server: LiveServer) -> None:
    assert await mux.request({"action": "subscribe", "batch": "any-batch"}) == {
        "type": "subscribed",
        "batch": "any-batch",
    }


async def test_an_unsubscribed_upload_sends_nothing_more(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    dropped, kept = await create(http, events_server, 10), await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "upload_id": upload_id(dropped)})
    await mux.request({"action": "subscribe", "upload_id": upload_id(kept)})

    reply = await mux.request({"action": "unsubscribe", "upload_id": upload_id(dropped)})
    await upload(http, dropped, payload(10))
    await upload(http, kept, payload(10))
    received = await mux.until(of_upload(kept, "completed"))

    assert reply == {"type": "unsubscribed", "upload_id": upload_id(dropped)}
    assert upload_id(dropped) not in {e.get("upload_id") for e in received}


async def test_an_unsubscribed_batch_sends_nothing_more(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    kept = await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "batch": "mux-dropped-batch"})
    await mux.request({"action": "subscribe", "upload_id": upload_id(kept)})

    reply = await mux.request({"action": "unsubscribe", "batch": "mux-dropped-batch"})
    in_batch = await create(http, events_server, 10, {"batch": "mux-dropped-batch"})
    await upload(http, in_batch, payload(10))
    await upload(http, kept, payload(10))
    received = await mux.until(of_upload(kept, "completed"))

    assert reply == {"type": "unsubscribed", "batch": "mux-dropped-batch"}
    assert all(e.get("batch") != "mux-dropped-batch" for e in received)


# -- ping and stats ---------------------------------------------------------------------------------


async def test_ping_is_answered_with_pong(mux: Multiplexed) -> None:
    reply = await mux.request({"action": "ping"})

    assert reply["type"] == "pong"
    assert reply["timestamp"].endswith("Z")


async def test_get_stats_describes_the_connection_and_the_server(
    mux: Multiplexed, events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10)
    await mux.request({"action": "subscribe", "upload_id": upload_id(url)})

    stats = await mux.request({"action": "get_stats"})

    assert stats["type"] == "stats"
    assert stats["subscriptions"] == [f"upload:{upload_id(url)}"]
    assert stats["connections"] >= 1
    assert stats["max_connections"] == 10000
    assert {"delivered", "pending", "coalesced", "dropped", "refused"} <= set(stats)


# -- bad messages -----------------------------------------------------------------------------------

BAD_MESSAGES: list[tuple[str, Any, str]] = [
    ("not json", "hello", "invalid_message"),
    ("a json array", "[1, 2]", "invalid_message"),
    ("a json string", '"subscribe"', "invalid_message"),
    ("no action", {"upload_id": "x"}, "unknown_action"),
    ("unknown action", {"action": "dance"}, "unknown_action"),
    ("subscribe without a target", {"action": "subscribe"}, "invalid_subscription"),
    ("unsubscribe without a target", {"action": "unsubscribe"}, "invalid_subscription"),
    ("a target that is not a string", {"action": "subscribe", "upload_id": 7}, "invalid_subscription"),
    ("an unknown upload", {"action": "subscribe", "upload_id": "0123456789abcdef0123456789abcdef"}, "upload_not_found"),
    ("an invalid upload id", {"action": "subscribe", "upload_id": "../../etc/passwd"}, "upload_not_found"),
    ("a negative since", {"action": "subscribe", "batch": "b", "since": -1}, "invalid_since"),
    ("a since that is text", {"action": "subscribe", "batch": "b", "since": "12"}, "invalid_since"),
]


@pytest.mark.parametrize(
    ("message", "expected_code"), [(m, c) for _, m, c in BAD_MESSAGES], ids=[n for n, _, _ in BAD_MESSAGES]
)
async def test_a_bad_message_gets_a_json_error_and_the_socket_stays_open(
    mux: Multiplexed, message: Any, expected_code: str
) -> None:
    reply = await mux.request(message)

    assert reply["type"] == "error"
    assert reply["error_code"] == expected_code
    assert reply["error_message"]
    assert await still_open(mux)


async def test_a_binary_message_gets_a_json_error_and_the_socket_stays_open(mux: Multiplexed) -> None:
    reply = await mux.request(b'{"action": "ping"}')

    assert reply["type"] == "error"
    assert await still_open(mux)


# -- multiplexed SSE --------------------------------------------------------------------------------


async def test_sse_filtered_by_upload_sends_only_that_uploads_events(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    watched, other = await create(http, events_server, 10), await create(http, events_server, 10)
    follower = SseFollower()
    task = await following(
        follower,
        f"{events_server.endpoint}events?upload_id={upload_id(watched)}",
        stop_after=of_upload(watched, "completed"),
    )

    await upload(http, other, payload(10))
    await upload(http, watched, payload(10))
    await task

    assert [e["type"] for e in follower.events] == ["progress", "completed"]
    assert {e["upload_id"] for e in follower.events} == {upload_id(watched)}


async def test_sse_filtered_by_several_uploads_sends_each_of_them(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    first, second = await create(http, events_server, 10), await create(http, events_server, 10)
    follower = SseFollower()
    query = f"upload_id={upload_id(first)}&upload_id={upload_id(second)}"
    task = await following(
        follower, f"{events_server.endpoint}events?{query}", stop_after=of_upload(second, "completed")
    )

    await upload(http, first, payload(10))
    await upload(http, second, payload(10))
    await task

    assert [e["upload_id"] for e in follower.events if e["type"] == "completed"] == [
        upload_id(first),
        upload_id(second),
    ]


async def test_sse_filtered_by_batch_sends_its_files_and_batch_events(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    batch = "sse-filtered-batch"
    follower = SseFollower()
    task = await following(
        follower, f"{events_server.endpoint}events?batch={batch}", stop_after=lambda e: e["type"] == "batch-completed"
    )
    other = await create(http, events_server, 10)
    url = await create(http, events_server, 10, {"batch": batch})

    await upload(http, other, payload(10))
    await upload(http, url, payload(10))
    await task

    assert {e["batch"] for e in follower.events} == {batch}
    assert {e["upload_id"] for e in follower.events} == {upload_id(url), None}
    assert "batch-progress" in [e["type"] for e in follower.events]


async def test_sse_without_filters_sends_every_upload(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    first, second = await create(http, events_server, 10), await create(http, events_server, 10)
    follower = SseFollower()
    task = await following(follower, f"{events_server.endpoint}events", stop_after=of_upload(second, "completed"))

    await upload(http, first, payload(10))
    await upload(http, second, payload(10))
    await task

    completed = {e["upload_id"] for e in follower.events if e["type"] == "completed"}
    assert {upload_id(first), upload_id(second)} <= completed


async def test_sse_filtered_by_an_unknown_upload_is_404(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{events_server.endpoint}events?upload_id=0123456789abcdef0123456789abcdef")

    assert response.status_code == 404
    assert response.json()["error_code"] == "upload_not_found"
