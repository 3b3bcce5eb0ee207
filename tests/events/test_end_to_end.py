"""End to end: real tus clients upload in chunks while a WebSocket, an SSE and a reconnecting client follow along."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient import client as tuspy

from tests.events.clients import (
    SseFollower,
    WsFollower,
    create,
    events_path,
    started,
    until,
    ws_url,
)
from tests.interop.tus_js_client import TusJsClient
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.stores("file", "s3")  # events report what the store keeps, either store

KiB, MiB = 1024, 1024 * 1024
SIZE = 6 * MiB + 12_345  # not a multiple of the chunk size: the last chunk is short
CHUNK = 256 * KiB

Event = dict[str, Any]
Sender = Callable[[str, Path], None]  # upload this file to this (already created) upload URL


@dataclass
class Followed:
    """What each client saw of one upload."""

    url: str
    ws: WsFollower
    sse: SseFollower
    before_disconnect: list[Event]
    after_reconnect: list[Event]

    @property
    def reconnected(self) -> list[Event]:
        return self.before_disconnect + self.after_reconnect

    def progress(self, events: list[Event]) -> list[Event]:
        return [e for e in events if e["type"] == "progress"]


async def reconnecting_client(
    uri: str, connected: asyncio.Event, steady: WsFollower
) -> tuple[list[Event], list[Event]]:
    """Follows until the first progress event, goes away until it has missed something, comes back with `since`."""
    first = WsFollower(connected=connected)
    await first.run(uri, stop_after=lambda e: e["type"] == "progress")
    last_seen = first.events[-1]["seq"]
    await until(lambda: any(e["seq"] > last_seen for e in steady.events))
    second = await WsFollower().run(f"{uri}?since={last_seen}")
    return first.events, second.events


async def follow_an_upload(server: LiveServer, source: Path, send: Sender) -> Followed:
    async with httpx.AsyncClient() as http:
        url = await create(http, server, SIZE, {"filename": "source.bin"})
    uri = ws_url(server, events_path(url))
    ws, sse = WsFollower(), SseFollower()
    ws_task = asyncio.create_task(ws.run(uri))
    sse_task = asyncio.create_task(sse.run(f"{url}/events"))
    reconnecting_connected = asyncio.Event()
    reconnecting = asyncio.create_task(reconnecting_client(uri, reconnecting_connected, ws))
    for task, connected in ((ws_task, ws.connected), (sse_task, sse.connected), (reconnecting, reconnecting_connected)):
        await started(task, connected)

    await asyncio.to_thread(send, url, source)
    await asyncio.gather(ws_task, sse_task)
    before, after = await reconnecting
    return Followed(url, ws, sse, before, after)


def send_with_tus_js_client(client: TusJsClient) -> Sender:
    def send(url: str, source: Path) -> None:
        run = client.upload(source, uploadUrl=url, chunkSize=CHUNK)
        assert run.ok, run.explain()
        assert len(run.patches) == -(-SIZE // CHUNK)

    return send


def send_with_tuspy(url: str, source: Path) -> None:
    uploader = tuspy.TusClient(url.rsplit("/", 1)[0] + "/").uploader(str(source), url=url, chunk_size=CHUNK)
    uploader.upload()
    assert uploader.offset == SIZE


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-source") / "source.bin"
    path.write_bytes(random.Random(7).randbytes(SIZE))
    return path


@pytest.fixture(scope="module", params=["tus-js-client", "tuspy"])
def followed(request: pytest.FixtureRequest, events_server: LiveServer, source: Path) -> Followed:
    """One chunked upload by a real client, followed by every kind of subscriber (run once per client)."""
    if request.param == "tus-js-client":
        send = send_with_tus_js_client(request.getfixturevalue("tus_js_client"))
    else:
        send = send_with_tuspy
    return asyncio.run(follow_an_upload(events_server, source, send))


def test_every_event_arrives_in_order(followed: Followed) -> None:
    for events in (followed.ws.events, followed.sse.events, followed.reconnected):
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(set(seqs))


def test_websocket_and_sse_clients_see_the_same_events(followed: Followed) -> None:
    assert followed.sse.events == followed.ws.events


def test_offsets_never_go_backwards(followed: Followed) -> None:
    for events in (followed.ws.events, followed.sse.events):
        offsets = [e["offset"] for e in events]
        assert offsets == sorted(offsets)


def test_the_upload_is_seen_from_creation_through_many_progress_events(followed: Followed) -> None:
    assert followed.ws.events[0]["type"] == "created"
    assert len(followed.progress(followed.ws.events)) >= 2  # throttled: the first and the last at least


def test_the_last_progress_offset_is_the_length(followed: Followed) -> None:
    for events in (followed.ws.events, followed.sse.events):
        last = followed.progress(events)[-1]
        assert (last["offset"], last["length"], last["percentage"]) == (SIZE, SIZE, 100.0)


def test_the_completed_event_arrives_last_and_the_streams_end(followed: Followed) -> None:
    for events in (followed.ws.events, followed.sse.events):
        assert events[-1]["type"] == "completed"
        assert events[-1]["offset"] == SIZE
        assert events[-1]["filename"] == "source.bin"
    assert followed.ws.close_code == 1000
    assert followed.sse.ended_by_server


def test_a_client_that_reconnects_with_since_misses_nothing(followed: Followed) -> None:
    assert followed.after_reconnect, "the reconnecting client came back to nothing"
    assert followed.after_reconnect[0]["seq"] > followed.before_disconnect[-1]["seq"]
    assert followed.reconnected == followed.ws.events
