"""Real clients of a live server's event routes: tus requests, WebSocket and SSE followers, and a stuck reader."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import websockets

from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS, upload_id

Event = dict[str, Any]
# Far above what any stream in these tests needs; only there to turn a hang into a failure.
STREAM_TIMEOUT = 20.0


# -- tus --------------------------------------------------------------------------------------------


def metadata_header(metadata: dict[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items())


async def create(
    http: httpx.AsyncClient, server: LiveServer, length: int | None, metadata: dict[str, str] | None = None
) -> str:
    """A new upload's URL."""
    headers = dict(TUS)
    headers.update({"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"})
    if metadata:
        headers["Upload-Metadata"] = metadata_header(metadata)
    response = await http.post(server.endpoint, headers=headers)
    assert response.status_code == 201, response.text
    return response.headers["location"]


async def patch(http: httpx.AsyncClient, url: str, offset: int, body: Any, **headers: str) -> httpx.Response:
    return await http.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset), **headers})


async def upload(http: httpx.AsyncClient, url: str, data: bytes, offset: int = 0) -> None:
    response = await patch(http, url, offset, data)
    assert response.status_code == 204, response.text


async def paced(data: bytes, piece: int, every: float) -> AsyncIterator[bytes]:
    """A sender with a steady pace: `piece` bytes every `every` seconds (a pace, not a wait)."""
    for start in range(0, len(data), piece):
        if start:
            await asyncio.sleep(every)
        yield data[start : start + piece]


async def in_pieces(data: bytes, piece: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


# -- waiting ----------------------------------------------------------------------------------------


async def until(condition: Callable[[], bool], *, timeout: float = 10.0, every: float = 0.01) -> None:
    """Return as soon as `condition()` holds; fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(every)


# -- event streams ----------------------------------------------------------------------------------


def ws_url(server: LiveServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{server.base_path}{path}"


def events_path(url: str) -> str:
    return f"{upload_id(url)}/events"


@dataclass
class WsFollower:
    """Reads a per-upload (or per-batch) WebSocket to its end, keeping every event and how it closed."""

    events: list[Event] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, uri: str, *, stop_after: Callable[[Event], bool] | None = None) -> WsFollower:
        async with asyncio.timeout(STREAM_TIMEOUT):
            async with websockets.connect(uri) as ws:
                self.connected.set()
                try:
                    async for message in ws:
                        event = json.loads(message)
                        self.events.append(event)
                        if stop_after is not None and stop_after(event):
                            return self  # we close it: no close code of the server's to record
                except websockets.ConnectionClosedError:
                    pass  # closed with a code other than 1000/1001: recorded below like any other
            self.close_code, self.close_reason = ws.close_code, ws.close_reason
        return self


async def follow_ws(uri: str, **options: Any) -> WsFollower:
    return await WsFollower().run(uri, **options)


@dataclass
class SseFrame:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    comments: list[str] = field(default_factory=list)
    retry: str | None = None

    @property
    def json(self) -> Event:
        assert self.data is not None
        parsed: Event = json.loads(self.data)
        return parsed


async def sse_frames(response: httpx.Response) -> AsyncIterator[SseFrame]:
    """The frames of a text/event-stream body, as a browser's EventSource splits them."""
    frame = SseFrame()
    async for line in response.aiter_lines():
        if line == "":
            if frame != SseFrame():
                yield frame
            frame = SseFrame()
        elif line.startswith(":"):
            frame.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                frame.data = value if frame.data is None else frame.data + "\n" + value
            elif name in ("id", "event", "retry"):
                setattr(frame, name, value)


@dataclass
class SseFollower:
    """Reads an SSE event stream to its end (or until `stop_after`), keeping every event frame."""

    frames: list[SseFrame] = field(default_factory=list)
    status: int | None = None
    headers: httpx.Headers | None = None
    ended_by_server: bool = False
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def events(self) -> list[Event]:
        return [frame.json for frame in self.frames if frame.data is not None]

    async def run(
        self, url: str, *, headers: dict[str, str] | None = None, stop_after: Callable[[Event], bool] | None = None
    ) -> SseFollower:
        async with (
            asyncio.timeout(STREAM_TIMEOUT),
            httpx.AsyncClient(timeout=None) as http,
            http.stream("GET", url, headers=headers or {}) as response,
        ):
            self.status, self.headers = response.status_code, response.headers
            self.connected.set()
            if response.status_code != 200:
                await response.aread()
                return self
            async for frame in sse_frames(response):
                self.frames.append(frame)
                if frame.data is not None and stop_after is not None and stop_after(frame.json):
                    return self
            self.ended_by_server = True
        return self


async def follow_sse(url: str, **options: Any) -> SseFollower:
    return await SseFollower().run(url, **options)


def is_type(*types: str) -> Callable[[Event], bool]:
    return lambda event: event["type"] in types


def of_upload(url: str, *types: str) -> Callable[[Event], bool]:
    uid = upload_id(url)
    return lambda event: event.get("upload_id") == uid and event["type"] in types


async def following(follower: WsFollower | SseFollower, target: str, **options: Any) -> asyncio.Task[Any]:
    """Run a follower in the background; return once it is connected, so it sees what happens next."""
    task = asyncio.create_task(follower.run(target, **options))
    await started(task, follower.connected)
    return task


async def started(task: asyncio.Task[Any], connected: asyncio.Event) -> None:
    """Wait until a follower is connected (or has already failed, which the task then reports)."""
    waiter = asyncio.ensure_future(connected.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=STREAM_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task in done:
        task.result()
    assert done, "the follower never connected"


class Multiplexed:
    """The multiplexed WebSocket: send actions, read what comes back, in order."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.received: list[Event] = []

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def next(self) -> Event:
        async with asyncio.timeout(STREAM_TIMEOUT):
            message: Event = json.loads(await self.ws.recv())
        self.received.append(message)
        return message

    async def request(self, message: dict[str, Any] | str | bytes) -> Event:
        """Send one action and return its answer (the next message that is not an event)."""
        await self.send(message)
        while True:
            reply = await self.next()
            if reply["type"] in ("pong", "stats", "subscribed", "unsubscribed", "error"):
                return reply

    async def until(self, condition: Callable[[Event], bool]) -> list[Event]:
        """Every message up to and including the first that meets `condition`."""
        seen: list[Event] = []
        while True:
            message = await self.next()
            seen.append(message)
            if condition(message):
                return seen


def when(event: Event) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))


def seconds_between(earlier: Event, later: Event) -> float:
    return (when(later) - when(earlier)).total_seconds()


# -- holding a place on a server with connection limits --------------------------------------------


async def admitted_socket(server: LiveServer, path: str = "events") -> websockets.ClientConnection | None:
    """A new multiplexed WebSocket if it is admitted (it answers a ping), None if it is refused.
    `path` may carry credentials, e.g. `events?token=KEY`."""
    ws = await websockets.connect(ws_url(server, path))
    try:
        await ws.send(json.dumps({"action": "ping"}))
        if json.loads(await ws.recv())["type"] == "pong":
            return ws
    except websockets.ConnectionClosed:
        pass
    await ws.close()
    return None


@asynccontextmanager
async def holding_a_place(server: LiveServer, path: str = "events") -> AsyncIterator[websockets.ClientConnection]:
    """An admitted WebSocket holding one place until the block ends (once places closed just before are free)."""
    async with asyncio.timeout(5):
        while (ws := await admitted_socket(server, path)) is None:
            await asyncio.sleep(0.02)
    try:
        yield ws
    finally:
        await ws.close()


# -- a reader that never reads ----------------------------------------------------------------------


class StuckWebSocket:
    """A WebSocket client over a raw socket with tiny buffers that, once connected, reads nothing more until
    asked to (`read_to_end`)."""

    def __init__(self, server: LiveServer, path: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {server.base_path}{path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)  # byte by byte: read nothing past the handshake
        assert response.startswith(b"HTTP/1.1 101"), response
        self.sock.setblocking(False)

    @staticmethod
    def frame(text: str) -> bytes:
        """One masked text frame, as a client must send it."""
        payload = text.encode()
        mask = os.urandom(4)
        size = (
            bytes([0x80 | len(payload)])
            if len(payload) < 126
            else bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        )
        return bytes([0x81]) + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    def send_text(self, text: str) -> None:
        self.sock.settimeout(5)
        self.sock.sendall(self.frame(text))
        self.sock.setblocking(False)

    def jam(self, message: dict[str, Any], *, budget: int = 200_000, stalled_for: float = 0.5) -> bool:
        """Send `message` over and over until the server stops reading us (its replies fill every buffer
        on the way back): True once our socket has stayed unwritable for `stalled_for` seconds."""
        frame, pending = self.frame(json.dumps(message)), b""
        for _ in range(budget):
            pending = self._push(pending or frame)
            if pending and not select.select([], [self.sock], [], stalled_for)[1]:
                return True
        return False

    def _push(self, data: bytes) -> bytes:
        """Send what the socket takes now; return the rest."""
        try:
            return data[self.sock.send(data) :]
        except BlockingIOError:
            return data

    def read_to_end(
        self, timeout: float = STREAM_TIMEOUT, *, last: Callable[[Event], bool] | None = None
    ) -> list[Event]:
        """Read the stream to the server's close frame, or to the message `last` picks; the messages, in order."""
        self.sock.settimeout(timeout)
        data, events = b"", []
        while True:
            frame = _server_frame(data)
            if frame is None:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed without a close frame after {len(events)} events")
                data += chunk
                continue
            opcode, payload, data = frame
            if opcode == 0x8:
                return events
            if opcode == 0x1:
                events.append(json.loads(payload))
                if last is not None and last(events[-1]):
                    return events

    def close(self) -> None:
        self.sock.close()


def _server_frame(data: bytes) -> tuple[int, bytes, bytes] | None:
    """The first (unmasked) server frame in `data`: its opcode, its payload, what follows; None while incomplete."""
    if len(data) < 2:
        return None
    length, head = data[1] & 0x7F, 2
    if length == 126:
        if len(data) < 4:
            return None
        (length,), head = struct.unpack_from("!H", data, 2), 4
    elif length == 127:
        if len(data) < 10:
            return None
        (length,), head = struct.unpack_from("!Q", data, 2), 10
    if len(data) < head + length:
        return None
    return data[0] & 0x0F, data[head : head + length], data[head + length :]
