"""Clients that trickle or stall heads and bodies are answered and cut off by documented timeouts."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer, start_live
from tests.support.tus import OFFSET_BODY, create
from tests.support.waiting import wait_until

HEAD_TIMEOUT = "1s"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live(
        tmp_path_factory.mktemp("slow-clients"), "--request-head-timeout", HEAD_TIMEOUT, "--network-timeout", "1s"
    )
    yield live
    live.stop()


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def read_until_closed(sock: socket.socket, *, trickle: bytes = b"", deadline: float = 20.0) -> bytes:
    """Everything the server sends until it closes; with `trickle`, one more byte of it is sent every 0.2s."""
    received = b""
    sock.settimeout(0.2)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle[:1])
                except OSError:  # closed under us: what was answered is still to be read
                    trickle = b""
                trickle = trickle[1:] or trickle
            continue
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data
    raise AssertionError(f"the server kept the connection open for {deadline}s; it sent {received!r}")


def status_and_json(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def log_lines(server: LiveServer, text: str) -> list[str]:
    return [line for line in server.log().splitlines() if text in line]


def test_a_head_trickled_past_the_head_timeout_is_answered_408_and_closed(server: LiveServer) -> None:
    sock = connect(server)
    sock.sendall(b"PATCH /files/x HTTP/1.1\r\n")
    response = read_until_closed(sock, trickle=b"X-Slow: " + b"a" * 10_000)  # never ends its headers
    status, body = status_and_json(response)
    assert status == 408
    assert body["error_code"] == "request_head_timeout"
    assert b"connection: close" in response
    port = sock.getsockname()[1]
    wait_until(lambda: log_lines(server, f"127.0.0.1:{port}: 408 request_head_timeout"))
    assert len(log_lines(server, f"127.0.0.1:{port}")) == 1
    sock.close()


def test_a_connection_that_never_sends_a_head_is_answered_408_and_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        status, body = status_and_json(read_until_closed(sock))
    assert status == 408
    assert body["error_code"] == "request_head_timeout"


def test_a_body_answered_before_it_ended_cannot_keep_its_connection_by_trickling(server: LiveServer) -> None:
    url = create(server.endpoint, 1000)
    path = url.split(str(server.port), 1)[1]
    with connect(server) as sock:
        head = [f"PATCH {path} HTTP/1.1", "Host: x", "Upload-Offset: 7", "Content-Length: 100000"]
        head += [f"{name}: {value}" for name, value in OFFSET_BODY.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        response = read_until_closed(sock, trickle=b"z" * 100_000)  # answered 409 at once, then trickles on
    status, body = status_and_json(response)
    assert status == 409
    assert body["error_code"] == "offset_mismatch"


def test_a_keep_alive_connection_between_requests_is_not_answered_408(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"OPTIONS /files/ HTTP/1.1\r\nHost: x\r\n\r\n")
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 200")
    assert b"408" not in response  # uvicorn's keep-alive timeout closes an idle connection without a word


def test_an_import_body_that_stalls_is_answered_408_by_the_network_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /files/imports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        sock.sendall(b'Content-Length: 100\r\n\r\n{"url": ')
        status, body = status_and_json(read_until_closed(sock))
    assert status == 408
    assert body["error_code"] == "body_timeout"


def test_a_head_timeout_of_zero_turns_it_off(tmp_path: Path) -> None:
    live = start_live(tmp_path, "--request-head-timeout", "0")
    try:
        with connect(live) as sock:
            sock.settimeout(2.5)  # more than the other tests' head timeout: nothing comes, nothing closes
            with pytest.raises(TimeoutError):
                sock.recv(1)
    finally:
        live.stop()
