"""A stream's events only move its upload forward: nothing after its end, no progress after completion or below an
earlier one, whichever instance sends it late; a follower reconnecting after the end is not sent it again, and an
upload whose history is lost is told with a seq above every earlier one, never 0."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from tests.events.clients import create, events_path, follow_sse, follow_ws, patch, ws_url
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tusd_py import Settings, create_app
from tusd_py.events.bus import EventBus, LocalEventBus
from tusd_py.events.models import EVENT_CLASSES, Event, utc_timestamp
from tusd_py.events.ordering import Step, admits, advance
from tusd_py.events.publisher import EventPublisher
from tusd_py.events.redis_bus import RedisEventBus
from tusd_py.protocol.info import UploadInfo
from tusd_py.state.memory import MemoryBatchBook
from tusd_py.state.redis import connect
from tusd_py.storage.file import FileStore

MIB = 2**20


def event(kind: str, offset: int = 0, upload: str = "u1", batch: str | None = None) -> Event:
    cls = EVENT_CLASSES[kind]
    extra = {"stage": "scan"} if kind == "processing" else {}
    return cls(
        upload_id=None if kind.startswith("batch") else upload,
        seq=0,
        timestamp=utc_timestamp(0),
        status=kind,
        offset=offset,
        batch=batch,
        **extra,
    )


# (what is sent, in order) -> what is published; each event named "kind@offset".
STORIES = {
    "a late progress after completion": (
        ["created@0", "progress@6", "progress@12", "completed@12", "progress@6"],
        ["created@0", "progress@6", "progress@12", "completed@12"],
    ),
    "a progress below an earlier one": (
        ["created@0", "progress@12", "progress@6", "progress@12", "progress@13"],
        ["created@0", "progress@12", "progress@12", "progress@13"],
    ),
    "a second completion, a creation again": (
        ["created@0", "completed@0", "completed@0", "created@0"],
        ["created@0", "completed@0"],
    ),
    "the pipeline after completion, then a removal, then nothing": (
        ["completed@5", "processing@5", "processing@5", "processed@5", "processing@5", "terminated@5", "expired@5"],
        ["completed@5", "processing@5", "processing@5", "processed@5", "terminated@5"],
    ),
    "nothing after a removal but a creation anew": (
        ["created@0", "progress@3", "terminated@3", "progress@4", "created@0", "progress@1"],
        ["created@0", "progress@3", "terminated@3", "created@0", "progress@1"],
    ),
    "a batch: progress never back, nothing after its completion": (
        ["batch-progress@5", "batch-progress@5", "batch-progress@3", "batch-completed@9", "batch-progress@9"],
        ["batch-progress@5", "batch-progress@5", "batch-completed@9"],
    ),
}


def told(name: str) -> Event:
    kind, _, offset = name.partition("@")
    return event(kind, int(offset), batch="b" if kind.startswith("batch") else None)


def named(events: list[Event]) -> list[str]:
    return [f"{e.type.value}@{e.offset}" for e in events]


@pytest.mark.parametrize("story", STORIES, ids=list(STORIES))
def test_the_ordering_rule_lets_through_only_what_moves_a_stream_forward(story: str) -> None:
    sent, published = STORIES[story]
    mark, through = None, []
    for name in sent:
        step = Step.of(told(name))
        if admits(mark, step):
            mark = advance(mark, step)
            through.append(name)

    assert through == published


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "redis"])
async def bus(request: pytest.FixtureRequest, shared_redis: RedisServer) -> AsyncIterator[EventBus]:
    if request.param == "local":
        yield LocalEventBus()
        return
    client = connect(shared_redis.url)
    try:
        yield RedisEventBus(client, prefix=f"test-{uuid.uuid4().hex}:")
    finally:
        await client.aclose()


@pytest.mark.parametrize("story", STORIES, ids=list(STORIES))
async def test_each_bus_numbers_and_publishes_only_what_moves_a_stream_forward(bus: EventBus, story: str) -> None:
    sent, published = STORIES[story]
    returned = [await bus.publish_next(told(name)) for name in sent]
    stream = told(sent[0]).stream_key

    history = await bus.replay(stream, 0)
    assert named(history) == published
    assert [e.seq for e in history] == [e.seq for e in returned if e is not None]
    assert all(earlier.seq < later.seq for earlier, later in pairwise(history))


async def test_seqs_keep_rising_when_redis_restarts_without_its_data(redis_server: RedisServer) -> None:
    async def publish_one() -> int:
        client = connect(redis_server.url)
        try:
            published = await RedisEventBus(client, prefix="test:").publish_next(
                event("created", upload=uuid.uuid4().hex)
            )
        finally:
            await client.aclose()
        assert published is not None
        return published.seq

    before = await publish_one()
    redis_server.stop()
    redis_server.start()  # an empty Redis: the counter is gone

    assert await publish_one() > before


def upload_at(offset: int, size: int = 12 * MIB) -> UploadInfo:
    return UploadInfo(id="0123456789abcdef0123456789abcdef", size=size, offset=offset)


async def test_an_instances_delayed_progress_never_follows_another_instances_completion(
    shared_redis: RedisServer, tmp_path: Path
) -> None:
    """PATCH 6 MiB on instance A, the rest on B: A's trailing progress (its throttle's last word, which knows only
    A's own meter) comes due after B published the completion. It is not published."""
    clients = [connect(shared_redis.url) for _ in range(2)]
    buses = [RedisEventBus(client, prefix="test:") for client in clients]
    store = FileStore(tmp_path / "uploads")
    a, b = (EventPublisher(bus, store, batches=MemoryBatchBook(), progress_interval=0.2) for bus in buses)
    a.start()
    b.start()
    try:
        a("created", upload_at(0), 0)
        a("progress", upload_at(1 * MIB), 1 * MIB)  # the first progress goes out at once
        a("received", upload_at(6 * MIB), 6 * MIB)  # too soon after: told later, by A's trailing event
        await a.drain()
        b("progress", upload_at(12 * MIB), 6 * MIB)
        b("completed", upload_at(12 * MIB), 0)
        await b.drain()
        await asyncio.wait_for(until_told(a), timeout=5)  # A's trailing event came due
        await a.drain()
        history = await buses[0].replay("upload:0123456789abcdef0123456789abcdef", 0)
    finally:
        await a.stop()
        await b.stop()
        await asyncio.gather(*(client.aclose() for client in clients))

    assert named(history)[-1] == f"completed@{12 * MIB}"
    offsets = [e.offset for e in history if e.type.value == "progress"]
    assert offsets == sorted(offsets)


async def until_told(publisher: EventPublisher) -> None:
    while publisher._trailing:  # the throttle's pending trailing event, until its timer fired
        await asyncio.sleep(0.01)


async def finished(http: httpx.AsyncClient, server: LiveServer) -> str:
    url = await create(http, server, 30)
    assert (await patch(http, url, 0, b"x" * 30)).status_code == 204
    return url


async def test_a_follower_reconnecting_after_the_end_is_sent_nothing_again(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await finished(http, events_server)
    story = (await follow_ws(ws_url(events_server, events_path(url) + "?since=0"))).events
    last = story[-1]["seq"]

    ws = await follow_ws(ws_url(events_server, events_path(url) + f"?since={last}"))
    sse = await follow_sse(f"{url}/events", headers={"Last-Event-ID": str(last)})

    assert story[-1]["type"] == "completed"
    assert (ws.events, ws.close_code) == ([], 1000)
    assert (sse.events, sse.ended_by_server) == ([], True)


async def test_an_upload_whose_history_was_lost_is_told_with_a_seq_above_the_last_one_seen(tmp_path: Path) -> None:
    settings = Settings(upload_dir=tmp_path / "uploads")
    first = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://testserver")
    async with first:
        created = await first.post("/files/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "0"})
        url = created.headers["Location"]
        before = (await first.get(f"{url}/events", headers={"Last-Event-ID": "0"})).text
    seen = max(int(line[4:]) for line in before.splitlines() if line.startswith("id: "))

    restarted = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://testserver")
    async with restarted:
        after = (await restarted.get(f"{url}/events", headers={"Last-Event-ID": str(seen)})).text

    ids = [int(line[4:]) for line in after.splitlines() if line.startswith("id: ")]
    assert "event: completed" in after and len(ids) == 1 and ids[0] > seen
