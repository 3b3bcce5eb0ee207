"""The HTTP protocol `serve` gives uvicorn, driven byte by byte through a fake transport: how bodies reach the app."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from tusd_py.cli.http_protocol import BODY_HIGH_WATER, BoundedHttpToolsProtocol
from tusd_py.uploads.socket_body import MIN_LENGTH as SOCKET_BODY_MIN_LENGTH

KIB = 1024


class FakeTransport(asyncio.Transport):
    """Records what the protocol writes and whether it is reading; nothing goes to a network."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.reading = True
        self.pauses = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 1080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def pause_reading(self) -> None:
        assert self.reading, "paused twice"
        self.reading = False
        self.pauses += 1

    def resume_reading(self) -> None:
        assert not self.reading, "resumed while reading"
        self.reading = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


class RecordingApp:
    """An ASGI app that records every request and the messages it received; `go` lets it read on."""

    def __init__(self, *, read_body: bool = True, hold: bool = False, hold_after_first: bool = False) -> None:
        self.read_body = read_body
        self.hold_after_first = hold_after_first
        self.go = asyncio.Event()
        if not hold:
            self.go.set()
        self.requests: list[dict[str, Any]] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request: dict[str, Any] = {"path": scope["path"], "messages": []}
        self.requests.append(request)
        while self.read_body:
            await self.go.wait()
            message = await receive()
            request["messages"].append(message)
            if self.hold_after_first and len(request["messages"]) == 1:
                self.go.clear()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        self.done.set()


def connect(app: RecordingApp) -> tuple[BoundedHttpToolsProtocol, FakeTransport]:
    config = Config(app=app, http=BoundedHttpToolsProtocol, lifespan="off", proxy_headers=False, log_config=None)
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


def head(method: str, path: str, length: int | None = None, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: example"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += extra
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def bodies(request: dict[str, Any]) -> bytes:
    return b"".join(m.get("body", b"") for m in request["messages"] if m["type"] == "http.request")


async def settle() -> None:
    """Let the app's task run until it waits for something again."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_body_chunks_reach_the_app_as_the_objects_the_socket_delivered() -> None:
    app = RecordingApp()
    protocol, _ = connect(app)
    blocks = [bytes([n]) * (256 * KIB) for n in range(1, 5)]
    protocol.data_received(head("PATCH", "/files/a", 4 * 256 * KIB))
    for block in blocks:
        protocol.data_received(block)
        await settle()
    await asyncio.wait_for(app.done.wait(), 5)

    delivered = [m["body"] for m in app.requests[0]["messages"] if m["body"]]
    assert len(delivered) == len(blocks)
    assert all(got is sent for got, sent in zip(delivered, blocks, strict=True))  # handed on, never copied
    assert app.requests[0]["messages"][-1]["more_body"] is False


async def test_a_body_split_between_the_head_and_later_reads_arrives_whole_and_in_order() -> None:
    app = RecordingApp()
    protocol, _ = connect(app)
    body = bytes(range(256)) * 4000
    protocol.data_received(head("PATCH", "/files/a", len(body)) + body[:1000])
    for start in range(1000, len(body), 77_777):
        protocol.data_received(body[start : start + 77_777])
    await asyncio.wait_for(app.done.wait(), 5)
    assert bodies(app.requests[0]) == body


async def test_a_request_right_behind_a_body_in_the_same_read_is_parsed() -> None:
    app = RecordingApp()
    protocol, transport = connect(app)
    body = b"x" * (300 * KIB)
    protocol.data_received(head("PATCH", "/files/a", len(body)) + body[:100])
    protocol.data_received(body[100:] + head("PATCH", "/files/b", 5) + b"hello" + head("HEAD", "/files/c"))
    for _ in range(3):
        await settle()
    assert [r["path"] for r in app.requests] == ["/files/a", "/files/b", "/files/c"]
    assert bodies(app.requests[0]) == body
    assert bodies(app.requests[1]) == b"hello"
    assert transport.written.count(b"HTTP/1.1 204") == 3


async def test_a_long_body_is_not_read_past_its_head_until_the_app_asks_for_it() -> None:
    app = RecordingApp(hold=True)
    protocol, transport = connect(app)
    length = SOCKET_BODY_MIN_LENGTH + 5
    protocol.data_received(head("PATCH", "/files/a", length) + b"z" * 1000)
    await settle()
    assert not transport.reading  # the rest may be the kernel's to move: nothing more is read for now

    app.go.set()
    await settle()
    assert transport.reading  # the app asked receive() for the body
    protocol.data_received(b"z" * (length - 1000))
    await asyncio.wait_for(app.done.wait(), 5)
    assert bodies(app.requests[0]) == b"z" * length


async def test_a_short_body_is_read_on_while_the_app_has_not_asked_yet() -> None:
    app = RecordingApp(hold=True)
    protocol, transport = connect(app)
    protocol.data_received(head("PATCH", "/files/a", 300 * KIB) + b"s" * 1000)
    await settle()
    assert transport.reading
    protocol.data_received(b"s" * (300 * KIB - 1000))
    app.go.set()
    await asyncio.wait_for(app.done.wait(), 5)
    assert bodies(app.requests[0]) == b"s" * (300 * KIB)


async def test_reading_pauses_while_the_app_falls_behind_and_resumes_when_it_catches_up() -> None:
    app = RecordingApp(hold_after_first=True)
    protocol, transport = connect(app)
    chunk = b"y" * (256 * KIB)
    count = BODY_HIGH_WATER // len(chunk) + 6
    protocol.data_received(head("PATCH", "/files/a", count * len(chunk)))
    await settle()
    sent = 0
    while transport.reading and sent < count:
        protocol.data_received(chunk)
        sent += 1
        await settle()
    assert not transport.reading  # the app stopped reading after its first message: the socket must stop too
    assert sent * len(chunk) > BODY_HIGH_WATER

    app.go.set()
    await settle()
    assert transport.reading  # the app took what waited
    while sent < count:
        protocol.data_received(chunk)
        sent += 1
        await settle()
    await asyncio.wait_for(app.done.wait(), 5)
    assert bodies(app.requests[0]) == chunk * count


async def test_bytes_received_before_the_connection_drops_reach_the_app_before_the_disconnect() -> None:
    app = RecordingApp(hold=True)
    protocol, _ = connect(app)
    protocol.data_received(head("PATCH", "/files/a", 10 * 100 * KIB))
    for _ in range(3):
        protocol.data_received(b"z" * (100 * KIB))
    protocol.connection_lost(None)
    app.go.set()
    await asyncio.wait_for(app.done.wait(), 5)

    messages = app.requests[0]["messages"]
    assert bodies(app.requests[0]) == b"z" * (300 * KIB)
    assert messages[-1] == {"type": "http.disconnect"}


async def test_a_body_the_app_answered_without_reading_is_skipped_and_the_next_request_served() -> None:
    app = RecordingApp(read_body=False)
    protocol, transport = connect(app)
    body = b"q" * (200 * KIB)
    protocol.data_received(head("PATCH", "/files/a", len(body)) + body[:10])
    await settle()
    assert transport.written.startswith(b"HTTP/1.1 204")
    protocol.data_received(body[10:] + head("HEAD", "/files/b"))
    await settle()
    assert [r["path"] for r in app.requests] == ["/files/a", "/files/b"]
    assert transport.written.count(b"HTTP/1.1 204") == 2


async def test_expect_100_continue_is_answered_when_the_app_first_reads() -> None:
    app = RecordingApp(hold=True)
    protocol, transport = connect(app)
    protocol.data_received(head("PATCH", "/files/a", 3, "Expect: 100-continue"))
    await settle()
    assert transport.written == b""
    app.go.set()
    await settle()
    assert transport.written == b"HTTP/1.1 100 Continue\r\n\r\n"
    protocol.data_received(b"abc")
    await asyncio.wait_for(app.done.wait(), 5)
    assert bodies(app.requests[0]) == b"abc"


async def test_an_empty_body_is_one_final_message() -> None:
    app = RecordingApp()
    protocol, _ = connect(app)
    protocol.data_received(head("PATCH", "/files/a", 0))
    await asyncio.wait_for(app.done.wait(), 5)
    assert app.requests[0]["messages"] == [{"type": "http.request", "body": b"", "more_body": False}]


async def test_a_head_that_does_not_end_within_the_head_timeout_is_answered_408_and_closed() -> None:
    app = RecordingApp()
    protocol, transport = connect(app)
    protocol.head_timeout = 0.05
    protocol.data_received(b"PATCH /files/a HTTP/1.1\r\nHost: exa")
    await asyncio.sleep(0.2)  # the timer's own clock: no other event says it fired
    assert transport.written.startswith(b"HTTP/1.1 408 Request Timeout")
    assert b'"error_code": "request_head_timeout"' in transport.written
    assert app.requests == []


async def test_the_rest_of_a_short_body_answered_early_is_dropped_and_the_connection_kept() -> None:
    app = RecordingApp(read_body=False)
    protocol, transport = connect(app)
    protocol.head_timeout = 0.05
    body = b"q" * 1000
    protocol.data_received(head("PATCH", "/files/a", len(body)) + body[:10])
    await settle()
    protocol.data_received(body[10:])
    await asyncio.sleep(0.2)
    assert transport.written.count(b"HTTP/1.1 ") == 1  # no 408 for an idle connection: that is keep-alive's
    assert not transport.closed


async def test_a_long_body_answered_early_closes_the_connection() -> None:
    app = RecordingApp(read_body=False)
    protocol, transport = connect(app)
    protocol.data_received(head("PATCH", "/files/a", 10 * 1024 * KIB) + b"q" * 10)
    await settle()
    assert transport.written.startswith(b"HTTP/1.1 204")
    assert protocol._discarding  # our FIN went out; what still comes is read and dropped, then the socket closes
