"""Events are owner-scoped: another owner's upload stream is refused, another owner's batch is invisible."""

from __future__ import annotations

import asyncio
import base64

import websockets

from tests.auth.conftest import key_header
from tests.auth.streams import (
    Socket,
    completed,
    create,
    sse_events_until,
    sse_start,
    unique,
    upload,
    upload_id,
    ws_uri,
)
from tests.support.live_server import LiveServer

ALICE, BOB, ROOT = key_header("alice"), key_header("bob"), key_header("root")


def batch_metadata(name: str) -> str:
    return "batch " + base64.b64encode(name.encode()).decode()


async def test_a_websocket_on_another_owners_upload_gets_forbidden_and_no_event(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, ALICE, 5)
    await upload(url, ALICE, b"hello")

    async with websockets.connect(ws_uri(keyed_server, f"{upload_id(url)}/events"), additional_headers=BOB) as ws:
        messages = await Socket(ws).to_the_end()

    assert [(m["type"], m["error_code"]) for m in messages] == [("error", "forbidden")]
    assert ws.close_code is not None and 4000 <= ws.close_code < 5000


async def test_an_sse_stream_of_another_owners_upload_gets_403(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, ALICE, 5)

    status, _, body = await sse_start(keyed_server, f"{upload_id(url)}/events", BOB)

    assert status == 403
    assert b'"forbidden"' in body


async def test_subscribing_to_another_owners_upload_is_forbidden(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, ALICE, 5)

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=BOB) as ws:
        socket = Socket(ws)
        plain = await socket.request({"action": "subscribe", "upload_id": upload_id(url)})
        replaying = await socket.request({"action": "subscribe", "upload_id": upload_id(url), "since": 0})
        stats = await socket.request({"action": "get_stats"})

    assert (plain["type"], plain["error_code"]) == ("error", "forbidden")
    assert (replaying["type"], replaying["error_code"]) == ("error", "forbidden")
    assert stats["subscriptions"] == []


async def test_a_refused_subscription_delivers_none_of_that_uploads_events(keyed_server: LiveServer) -> None:
    alices = await create(keyed_server, ALICE, 5)
    bobs = await create(keyed_server, BOB, 5)

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=BOB) as ws:
        socket = Socket(ws)
        await socket.request({"action": "subscribe", "upload_id": upload_id(alices)})
        await socket.request({"action": "subscribe", "upload_id": upload_id(bobs)})
        await upload(alices, ALICE, b"hello")
        await upload(bobs, BOB, b"hello")  # bob's own events come after alice's: a marker to stop at
        seen = await socket.until(completed(bobs))

    assert not [m for m in seen if m.get("upload_id") == upload_id(alices)]


async def test_subscribing_to_another_owners_batch_name_delivers_none_of_its_events(keyed_server: LiveServer) -> None:
    batch = unique("holiday")
    bobs = await create(keyed_server, BOB, 5)

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=BOB) as ws:
        socket = Socket(ws)
        assert (await socket.request({"action": "subscribe", "batch": batch}))["type"] == "subscribed"
        await socket.request({"action": "subscribe", "upload_id": upload_id(bobs)})
        alices = await create(keyed_server, ALICE, 5, batch_metadata(batch))
        await upload(alices, ALICE, b"hello")
        await upload(bobs, BOB, b"hello")
        seen = await socket.until(completed(bobs))

    assert [m["type"] for m in seen if m.get("batch") == batch or m.get("upload_id") == upload_id(alices)] == []


async def test_an_admin_follows_another_owners_batch_named_with_its_owner(keyed_server: LiveServer) -> None:
    batch = unique("holiday")
    alices = await create(keyed_server, ALICE, 5, batch_metadata(batch))

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=ROOT) as ws:
        socket = Socket(ws)
        subscribed = await socket.request({"action": "subscribe", "batch": batch, "owner": "alice"})
        await upload(alices, ALICE, b"hello")
        seen = await socket.until(completed(alices))

    assert subscribed == {"type": "subscribed", "batch": batch}
    assert [m["type"] for m in seen if m.get("upload_id") == upload_id(alices)][-1] == "completed"


async def test_a_batch_socket_naming_another_owner_without_admin_is_refused(keyed_server: LiveServer) -> None:
    batch = unique("holiday")
    await create(keyed_server, ALICE, 5, batch_metadata(batch))

    uri = ws_uri(keyed_server, f"batches/{batch}/events") + "?owner=alice"
    async with websockets.connect(uri, additional_headers=BOB) as ws:
        messages = await Socket(ws).to_the_end()

    assert [(m["type"], m["error_code"]) for m in messages] == [("error", "forbidden")]
    assert ws.close_code == 4403


async def test_the_event_stream_of_a_batch_only_another_owner_has_is_not_found(keyed_server: LiveServer) -> None:
    batch = unique("holiday")
    await create(keyed_server, ALICE, 5, batch_metadata(batch))

    uri = ws_uri(keyed_server, f"batches/{batch}/events") + "?wait=0"  # without it, the stream waits for bob's own
    async with websockets.connect(uri, additional_headers=BOB) as ws:
        messages = await Socket(ws).to_the_end()

    assert [(m["type"], m["error_code"]) for m in messages] == [("error", "batch_not_found")]
    assert ws.close_code == 4404


async def test_replaying_a_batch_only_another_owner_has_is_not_found(keyed_server: LiveServer) -> None:
    batch = unique("holiday")
    await create(keyed_server, ALICE, 5, batch_metadata(batch))

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=BOB) as ws:
        reply = await Socket(ws).request({"action": "subscribe", "batch": batch, "since": 0})

    assert (reply["type"], reply["error_code"]) == ("error", "batch_not_found")


async def test_the_unfiltered_sse_stream_carries_only_the_callers_own_events(keyed_server: LiveServer) -> None:
    started = asyncio.Event()
    bobs = await create(keyed_server, BOB, 5)
    following = asyncio.ensure_future(sse_events_until(keyed_server, "events", BOB, completed(bobs), started))
    async with asyncio.timeout(15):
        await started.wait()

    alices = await create(keyed_server, ALICE, 5)
    await upload(alices, ALICE, b"hello")
    await upload(bobs, BOB, b"hello")
    seen = await following

    assert {m["upload_id"] for m in seen} == {upload_id(bobs)}


async def test_an_admin_may_follow_anyones_upload(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, ALICE, 5)
    await upload(url, ALICE, b"hello")

    async with websockets.connect(ws_uri(keyed_server, f"{upload_id(url)}/events"), additional_headers=ROOT) as ws:
        events = await Socket(ws).to_the_end()

    assert [event["type"] for event in events] == ["completed"]


async def test_an_admin_may_subscribe_to_anyones_upload(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, ALICE, 5)

    async with websockets.connect(ws_uri(keyed_server, "events"), additional_headers=ROOT) as ws:
        socket = Socket(ws)
        reply = await socket.request({"action": "subscribe", "upload_id": upload_id(url)})
        await upload(url, ALICE, b"hello")
        seen = await socket.until(completed(url))

    assert reply["type"] == "subscribed"
    assert seen[-1]["upload_id"] == upload_id(url)
