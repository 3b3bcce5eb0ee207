"""Events written straight to the socket from the publisher (http/direct_frames.py), and the queue that takes over
whenever the socket cannot take them or the reader is busy: the order and the end of a stream stay the same."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from tests.events.clients import StuckWebSocket, create, events_path, follow_ws, in_pieces, patch, upload, ws_url
from tests.events.test_subscriber import event
from tests.support.live_server import LiveServer
from tests.support.live_server import start_live as start_server
from tests.support.tus import upload_id
from tusd_py.events.bus import LocalEventBus, Subscriber
from tusd_py.events.models import CompletedEvent, CreatedEvent, Event, ProgressEvent
from tusd_py.events.streams import StreamFollower
from tusd_py.http.direct_frames import EventFrames, text_frame

MiB = 1024 * 1024


# -- the frame ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_text_frame_reads_back_whole_with_the_websockets_parser(size: int) -> None:
    payload = bytes(range(97, 123)) * (size // 26) + b"z" * (size % 26)
    reader = StreamReader()
    reader.feed_data(text_frame(payload))
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
        raise AssertionError("the frame should be complete")
    except StopIteration as done:
        frame = done.value
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)
    assert reader.at_eof()


def test_each_event_is_framed_once_however_many_sockets_it_goes_to() -> None:
    frames = EventFrames()
    first, second = event(ProgressEvent, seq=1, offset=5), event(ProgressEvent, seq=2, offset=9)
    written: list[bytes] = []
    senders = [frames.sender(lambda frame: written.append(frame) is None) for _ in range(3)]
    for e in (first, second):
        assert all(send(e) for send in senders)

    assert written[:3] == [text_frame(first.to_json().encode())] * 3
    assert written[0] is written[1] is written[2]  # one bytes object for the three sockets
    assert written[3:] == [text_frame(second.to_json().encode())] * 3
    assert frames.written == 6


def test_a_refused_write_is_not_counted() -> None:
    frames = EventFrames()
    assert frames.sender(lambda frame: False)(event(ProgressEvent)) is False
    assert frames.written == 0


# -- the subscriber's two ways ---------------------------------------------------------------------------


class Socket:
    """Stands for the socket's writer: takes events until told to refuse them."""

    def __init__(self) -> None:
        self.sent: list[Event] = []
        self.refusing = False

    def __call__(self, e: Event) -> bool:
        if self.refusing:
            return False
        self.sent.append(e)
        return True


async def test_an_event_for_a_waiting_reader_goes_out_at_once_and_never_queues() -> None:
    subscriber, socket = Subscriber(["upload:a"]), Socket()
    subscriber.write_now = socket
    reading = asyncio.ensure_future(subscriber.get())
    await asyncio.sleep(0)  # the reader waits

    subscriber.push(e := event(ProgressEvent, seq=1))

    assert socket.sent == [e]
    assert subscriber.pending == 0 and subscriber.delivered == 1
    assert not reading.done()
    reading.cancel()


async def test_while_something_waits_in_the_queue_new_events_queue_behind_it() -> None:
    subscriber, socket = Subscriber(["upload:a"]), Socket()
    subscriber.push(first := event(CreatedEvent, seq=1))  # no writer yet: queued
    subscriber.write_now = socket
    subscriber.push(second := event(ProgressEvent, seq=2))

    assert socket.sent == []
    assert [await subscriber.get(), await subscriber.get()] == [first, second]


async def test_while_the_reader_still_sends_an_event_the_next_one_queues() -> None:
    subscriber, socket = Subscriber(["upload:a"]), Socket()
    subscriber.write_now = socket
    subscriber.push(first := event(CreatedEvent, seq=1))  # nobody reading yet, the queue is empty: written
    socket.refusing = True
    subscriber.push(second := event(ProgressEvent, seq=2))  # refused: queued
    socket.refusing = False
    assert await subscriber.get() == second  # the reader now holds it and has not finished sending it
    subscriber.push(third := event(ProgressEvent, seq=3))

    assert socket.sent == [first]
    assert subscriber.pending == 1
    assert await subscriber.get() == third


async def test_the_follower_sends_live_events_at_once_and_yields_the_backlog_and_the_last_one() -> None:
    bus = LocalEventBus()
    follower, socket = StreamFollower(bus), Socket()
    subscriber = bus.subscribe(["upload:a"])
    backlog = [event(CreatedEvent, seq=1)]
    stream = follower.follow(subscriber, "upload:a", backlog, send_now=socket)
    yielded = [await anext(stream)]
    assert subscriber.write_now is None  # not during the backlog
    upcoming = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    assert subscriber.write_now is not None

    live = [event(ProgressEvent, seq=seq, offset=seq) for seq in (2, 3, 4)]
    for e in [*live, event(ProgressEvent, seq=3, offset=3)]:  # the last a repeat: dropped
        bus.deliver(e)
    bus.deliver(done := event(CompletedEvent, seq=5, offset=9))
    yielded.append(await upcoming)

    assert socket.sent == live
    assert yielded == [*backlog, done]  # the stream's end goes through the reader, which then closes
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert subscriber.write_now is None


async def test_a_socket_that_refuses_for_a_while_loses_nothing_and_reorders_nothing() -> None:
    bus = LocalEventBus()
    follower, socket = StreamFollower(bus), Socket()
    wire = socket.sent  # what reaches the client, in order: direct writes land at once...
    subscriber = bus.subscribe(["upload:a"], max_pending=1000)
    stream = follower.follow(subscriber, "upload:a", [], send_now=socket)
    queued: list[Event] = []

    async def reader() -> None:
        async for e in stream:
            await asyncio.sleep(0.001)  # ...and what the reader sends lands once its send finishes
            wire.append(e)
            queued.append(e)

    reading = asyncio.ensure_future(reader())
    await asyncio.sleep(0)
    for seq in range(1, 200):
        socket.refusing = 50 <= seq < 120
        bus.deliver(event(CreatedEvent, seq=seq))  # not progress: none may coalesce
        if seq % 7 == 0:
            await asyncio.sleep(0.002)
    bus.deliver(event(CompletedEvent, seq=200))
    await asyncio.wait_for(reading, 10)

    assert [e.seq for e in wire] == list(range(1, 201))  # every event once, in order on the wire
    assert len(queued) > 1 and len(wire) - len(queued) > 40  # both ways were taken
    assert queued[-1].seq == 200


# -- against `tusd-py serve` -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eager_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Every write block of 64 KiB makes an event: enough of them to fill a socket that is not read."""
    server = start_server(
        tmp_path_factory.mktemp("direct-frames"), "--progress-interval", "0", "--write-block-size", "64KiB"
    )
    yield server
    server.stop()


def messages_sent(server: LiveServer) -> dict[str, float]:
    text = httpx.get(f"{server.base_url}/metrics").text
    return {
        path: float(value)
        for path, value in re.findall(r'^tusd_py_event_messages_sent_total\{path="(\w+)"\} (\S+)$', text, re.M)
    }


async def test_a_live_stream_goes_out_directly_and_ends_as_before(eager_server: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        url = await create(http, eager_server, 8 * MiB)
        before = messages_sent(eager_server)
        following = asyncio.ensure_future(follow_ws(ws_url(eager_server, events_path(url))))
        await asyncio.sleep(0.3)
        await upload(http, url, bytes(8 * MiB))
        follower = await following
    after = messages_sent(eager_server)

    progress = [e for e in follower.events if e["type"] == "progress"]
    assert follower.close_code == 1000
    assert follower.events[-1]["type"] == "completed"
    assert [e["seq"] for e in follower.events] == sorted({e["seq"] for e in follower.events})
    assert len(progress) >= 8
    assert after["direct"] - before["direct"] >= len(progress) - 1
    assert after["queued"] - before["queued"] <= len(follower.events) - len(progress) + 1


async def test_a_reader_that_falls_behind_gets_the_rest_in_order_through_the_queue(eager_server: LiveServer) -> None:
    size = 32 * MiB
    async with httpx.AsyncClient(timeout=60) as http:
        url = await create(http, eager_server, size)
        before = messages_sent(eager_server)
        late = StuckWebSocket(eager_server, "events")
        try:
            late.send_text(json.dumps({"action": "subscribe", "upload_id": upload_id(url)}))
            # Replies to requests it never reads fill every buffer on the way back: the socket takes no more.
            assert late.jam({"action": "get_stats"})
            response = await patch(http, url, 0, in_pieces(bytes(size), MiB))
            assert response.status_code == 204, response.text
            messages = await asyncio.to_thread(late.read_to_end, last=lambda m: m["type"] == "completed")
        finally:
            late.close()
    after = messages_sent(eager_server)

    events = [m for m in messages if m.get("upload_id") == upload_id(url) and "seq" in m]  # not the replies
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert [e["offset"] for e in events] == sorted(e["offset"] for e in events)
    assert events[-1]["type"] == "completed" and events[-1]["offset"] == size
    assert after["queued"] > before["queued"]  # what came while the socket had no room went through the queue
