"""ASGI's zero-copy send in the HTTP protocol `serve` gives uvicorn: which requests are offered it, and how its
messages are answered where the kernel cannot send (here a fake transport with no socket: the file is read)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_http_protocol import FakeTransport, connect, head
from tusd_py.http.download import ZEROCOPY_SEND

DATA = bytes(range(256)) * 5000  # more than one copy chunk


class FileApp:
    """Answers every request with the file, named in zero-copy messages when the server offers them."""

    def __init__(self, path: Path, messages: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self.messages = messages
        self.offered: list[bool] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        offered = ZEROCOPY_SEND in scope.get("extensions", {})
        self.offered.append(offered)
        with self.path.open("rb") as file:
            messages = self.messages or [{"type": ZEROCOPY_SEND, "file": None, "more_body": False}]
            length = sum(m.get("count", len(DATA)) if m["type"] == ZEROCOPY_SEND else len(m["body"]) for m in messages)
            headers = [(b"content-length", str(length if offered else 0).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            if offered:
                for message in messages:
                    await send({**message, "file": file} if message["type"] == ZEROCOPY_SEND else message)
            else:
                await send({"type": "http.response.body", "body": b""})
        self.done.set()


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.write_bytes(DATA)
    return path


def body_of(transport: FakeTransport) -> bytes:
    return transport.written.partition(b"\r\n\r\n")[2]


async def test_a_get_is_offered_zero_copy_send_and_other_methods_are_not(data_path: Path) -> None:
    app = FileApp(data_path)
    protocol, _ = connect(app)  # type: ignore[arg-type]
    protocol.data_received(head("GET", "/files/a") + head("DELETE", "/files/a"))
    for _ in range(100):
        if len(app.offered) == 2:
            break
        await asyncio.sleep(0.01)

    assert app.offered == [True, False]


async def test_without_a_socket_the_file_is_read_and_sent_whole(data_path: Path) -> None:
    app = FileApp(data_path)
    protocol, transport = connect(app)  # type: ignore[arg-type]

    protocol.data_received(head("GET", "/files/a"))
    await asyncio.wait_for(app.done.wait(), 5)

    assert transport.written.startswith(b"HTTP/1.1 200 OK")
    assert body_of(transport) == DATA
    assert not transport.closed  # the answer ended where its Content-Length said: the connection stays open


async def test_ranges_and_bodies_mixed_go_out_in_order(data_path: Path) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.response.body", "body": b"<", "more_body": True},
        {"type": ZEROCOPY_SEND, "offset": 1000, "count": 300_000, "more_body": True},
        {"type": "http.response.body", "body": b"|", "more_body": True},
        {"type": ZEROCOPY_SEND, "offset": 5, "count": 10, "more_body": True},
        {"type": "http.response.body", "body": b">", "more_body": False},
    ]
    app = FileApp(data_path, messages)
    protocol, transport = connect(app)  # type: ignore[arg-type]

    protocol.data_received(head("GET", "/files/a"))
    await asyncio.wait_for(app.done.wait(), 5)

    assert body_of(transport) == b"<" + DATA[1000:301_000] + b"|" + DATA[5:15] + b">"


async def test_a_zero_copy_message_before_the_response_start_is_refused(data_path: Path) -> None:
    failures: list[BaseException] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            await send({"type": ZEROCOPY_SEND, "file": data_path.open("rb"), "more_body": False})
        except RuntimeError as error:
            failures.append(error)
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})

    protocol, _ = connect(app)  # type: ignore[arg-type]
    protocol.data_received(head("GET", "/files/a"))
    for _ in range(100):
        if failures:
            break
        await asyncio.sleep(0.01)

    assert failures and "only allowed" in str(failures[0])
