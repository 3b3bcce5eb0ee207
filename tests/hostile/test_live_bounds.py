"""Bounds a real server enforces: header sizes, WebSocket message size, event connections per user and in total."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.hostile.conftest import API_KEYS, credentials
from tests.support.live_server import LiveServer

TIMEOUT = 15.0
WS_MAX_SIZE = 64 * 1024  # what `serve` gives uvicorn


def start(root: Path, *args: str) -> LiveServer:
    server = LiveServer(root / "uploads", root / "server.log", *args, env={"TUSD_PY_API_KEYS": API_KEYS})
    server.upload_dir.mkdir(parents=True)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start(tmp_path_factory.mktemp("bounds-server"), "--auth", "api-key")
    yield server
    server.stop()


def answer_to(server: LiveServer, head: bytes) -> bytes:
    """Send a raw request head; what the server answers (b"" if it just closes the connection)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        try:
            sock.sendall(head)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return b""
    return answer


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    """The status and JSON body of a whole answer (the server closes the connection after an error)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split(b" ")[1]), json.loads(body)


def still_answers(server: LiveServer) -> bool:
    return httpx.get(server.base_url + "/healthz", timeout=TIMEOUT).status_code == 200


MIB = 1024 * 1024
HUGE_HEADERS = {
    "one-huge-value": b"X-Padding: " + b"a" * MIB + b"\r\n",
    "many-headers": b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * 100) for i in range(MIB // 100)),
}


@pytest.mark.parametrize("extra", HUGE_HEADERS.values(), ids=HUGE_HEADERS.keys())
def test_a_request_with_a_megabyte_of_headers_is_refused_with_431(server: LiveServer, extra: bytes) -> None:
    head = b"GET /files/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: alice-key\r\n" + extra + b"\r\n"

    status, body = status_and_body(answer_to(server, head))

    assert status == 431
    assert body["error_code"] == "headers_too_large" and body["details"] == {"limit": 64 * 1024}
    assert still_answers(server)


def test_a_url_longer_than_the_head_bound_is_refused_with_431(server: LiveServer) -> None:
    head = b"GET /files/" + b"a" * (65 * 1024) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    status, body = status_and_body(answer_to(server, head))

    assert status == 431 and body["error_code"] == "headers_too_large"


def test_headers_just_under_the_bound_are_served(server: LiveServer) -> None:
    head = (
        b"GET /files/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: alice-key\r\nConnection: close\r\nCookie: "
        + b"a" * 60000
        + b"\r\n\r\n"
    )

    assert answer_to(server, head).startswith(b"HTTP/1.1 200 ")


def test_a_request_that_is_not_http_gets_a_json_400(server: LiveServer) -> None:
    status, body = status_and_body(answer_to(server, b"GET /files/ HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n"))

    assert status == 400 and body["error_code"] == "malformed_request"


def test_the_head_bound_follows_the_max_header_size_setting(tmp_path: Path) -> None:
    server = start(tmp_path, "--max-header-size", "2KiB")
    try:
        small = answer_to(
            server, b"GET /files/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: " + b"a" * 1500 + b"\r\n\r\n"
        )
        large = answer_to(
            server, b"GET /files/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: " + b"a" * 2100 + b"\r\n\r\n"
        )
    finally:
        server.stop()

    assert small.startswith(b"HTTP/1.1 200 ")
    assert status_and_body(large) == (
        431,
        {
            "error_code": "headers_too_large",
            "error_message": "the request line and headers exceed 2048 bytes",
            "details": {"limit": 2048},
        },
    )


def test_a_request_with_ordinary_headers_is_served(server: LiveServer) -> None:
    head = (
        b"GET /files/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: alice-key\r\nConnection: close\r\nCookie: "
        + b"a" * 4096
        + b"\r\n\r\n"
    )

    assert answer_to(server, head).startswith(b"HTTP/1.1 200 ")


async def test_a_websocket_message_over_64_kib_closes_the_socket_with_1009(server: LiveServer) -> None:
    uri = f"ws://127.0.0.1:{server.port}/files/events"
    async with websockets.connect(uri, additional_headers=credentials("alice"), max_size=None) as ws:
        await ws.send(json.dumps({"action": "ping", "padding": "x" * WS_MAX_SIZE}))
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()

    assert ws.close_code == 1009


async def test_a_websocket_message_just_under_64_kib_is_answered(server: LiveServer) -> None:
    uri = f"ws://127.0.0.1:{server.port}/files/events"
    async with websockets.connect(uri, additional_headers=credentials("alice")) as ws:
        message = json.dumps({"action": "ping", "padding": ""})
        await ws.send(message.replace('""', '"' + "x" * (WS_MAX_SIZE - len(message)) + '"'))
        async with asyncio.timeout(TIMEOUT):
            reply = json.loads(await ws.recv())

    assert reply["type"] == "pong"


async def test_the_server_keeps_serving_websockets_after_closing_an_oversized_one(server: LiveServer) -> None:
    uri = f"ws://127.0.0.1:{server.port}/files/events"
    async with websockets.connect(uri, additional_headers=credentials("bob"), max_size=None) as ws:
        await ws.send("x" * (WS_MAX_SIZE + 1))
        async with asyncio.timeout(TIMEOUT):
            await ws.wait_closed()

    async with websockets.connect(uri, additional_headers=credentials("bob")) as ws:
        await ws.send(json.dumps({"action": "ping"}))
        async with asyncio.timeout(TIMEOUT):
            assert json.loads(await ws.recv())["type"] == "pong"


# -- event connections -------------------------------------------------------------------------------------


async def admitted(server: LiveServer, user: str) -> websockets.ClientConnection | tuple[int | None, str | None]:
    """A multiplexed socket that answered a ping, or how the server closed it."""
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/files/events", additional_headers=credentials(user))
    try:
        await ws.send(json.dumps({"action": "ping"}))
        async with asyncio.timeout(TIMEOUT):
            if json.loads(await ws.recv())["type"] == "pong":
                return ws
    except websockets.ConnectionClosed:
        pass
    await ws.close()
    return ws.close_code, ws.close_reason


async def test_event_connections_are_limited_per_authenticated_user(tmp_path: Path) -> None:
    server = start(tmp_path, "--auth", "api-key", "--max-event-connections-per-user", "1")
    try:
        alices_first = await admitted(server, "alice")
        alices_second = await admitted(server, "alice")
        bobs_first = await admitted(server, "bob")
        sse = httpx.get(server.endpoint + "events", headers=credentials("alice"), timeout=TIMEOUT)
    finally:
        server.stop()

    assert isinstance(alices_first, websockets.ClientConnection)
    assert alices_second == (1008, "at most 1 event connections per user")
    assert isinstance(bobs_first, websockets.ClientConnection)
    assert sse.status_code == 429 and sse.headers["Retry-After"] == "5"


async def test_event_connections_are_limited_in_total(tmp_path: Path) -> None:
    server = start(tmp_path, "--auth", "api-key", "--max-event-connections", "2")
    try:
        first, second = await admitted(server, "alice"), await admitted(server, "bob")
        third = await admitted(server, "root")
        sse = httpx.get(server.endpoint + "events", headers=credentials("root"), timeout=TIMEOUT)
    finally:
        server.stop()

    assert isinstance(first, websockets.ClientConnection) and isinstance(second, websockets.ClientConnection)
    assert third == (1013, "the server has 2 event connections open; retry later")
    assert sse.status_code == 429
