"""Connections to an HTTP hook endpoint: none left behind, and a storm of background hooks never starves the
blocking ones."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.hooks.receiver import Delivery, HookReceiver, Reply
from tests.support.live_server import LiveServer, start_live
from tests.support.sockets import tcp_states
from tests.support.tus import OFFSET_BODY, TUS, create
from tests.support.waiting import wait_until
from tusd_py.hooks.handlers import KEEPALIVE_CONNECTIONS


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    receiver = HookReceiver(idle_timeout=0.2).start()
    yield receiver
    receiver.stop()


def hooked(tmp_path: Path, receiver: HookReceiver, hooks: str, *args: str) -> LiveServer:
    return start_live(
        tmp_path, "--hooks-http", receiver.url, "--hooks-enabled-events", hooks, "--hooks-http-retry", "0", *args
    )


def create_at_once(server: LiveServer, count: int) -> list[int]:
    statuses: list[int] = []

    def one() -> None:
        response = httpx.post(server.endpoint, headers={**TUS, "Upload-Length": "5"}, timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def slowly(delivery: Delivery) -> Reply:
    time.sleep(0.3)  # the hooks overlap: each needs a connection of its own
    return Reply()


def test_connections_the_endpoint_closed_are_not_left_in_close_wait(tmp_path: Path, receiver: HookReceiver) -> None:
    receiver.answer = slowly
    server = hooked(tmp_path, receiver, "pre-create")
    try:
        assert create_at_once(server, 40) == [201] * 40
        pid, port = server.process.pid, receiver.port  # type: ignore[union-attr]
        # The endpoint closes every connection once it idles: nothing of ours stays established with it.
        wait_until(lambda: tcp_states(pid, port)["ESTABLISHED"] == 0)
        assert tcp_states(pid, port)["CLOSE_WAIT"] <= KEEPALIVE_CONNECTIONS

        assert create_at_once(server, 5) == [201] * 5  # the next hooks find their way past the closed ones
    finally:
        server.stop()


def test_hooks_cut_off_by_the_timeout_leave_no_connection_behind(tmp_path: Path, receiver: HookReceiver) -> None:
    receiver.answer = lambda delivery: Reply(hang=True)
    server = hooked(tmp_path, receiver, "pre-create", "--hooks-timeout", "1s")
    try:
        assert create_at_once(server, 20) == [502] * 20
        states = tcp_states(server.process.pid, receiver.port)  # type: ignore[union-attr]
        assert states["ESTABLISHED"] + states["CLOSE_WAIT"] == 0
    finally:
        server.stop()


def test_a_storm_of_background_hooks_does_not_starve_a_blocking_one(tmp_path: Path, receiver: HookReceiver) -> None:
    """Hundreds of trickling PATCHes each fire post-receive at an endpoint slow to answer those; a creation's
    pre-create, answered at once by the endpoint, must still get through."""
    receiver.answer = lambda delivery: Reply(hang=delivery.hook == "post-receive")
    # The post-receive hooks hang (30 s) past the test: were they to hold every connection to the endpoint, the
    # pre-create would wait for one longer than the creation below waits for its answer.
    server = hooked(tmp_path, receiver, "pre-create,post-receive", "--hooks-timeout", "120s")
    count = 150  # more than the hundred connections an HTTP hook client may open
    with ThreadPoolExecutor(8) as pool:
        urls = list(pool.map(lambda _: create(server.endpoint, 1000), range(count)))
    tricklers = []
    try:
        for url in urls:
            sock = socket.create_connection(("127.0.0.1", server.port))
            path = url.split(str(server.port), 1)[1]
            head = [f"PATCH {path} HTTP/1.1", "Host: x", "Upload-Offset: 0", "Content-Length: 1000"]
            head += [f"{name}: {value}" for name, value in OFFSET_BODY.items()]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * 10)  # and then nothing more for now
            tricklers.append(sock)
        ids = [url.rsplit("/", 1)[1] for url in urls]
        wait_until(lambda: all((server.upload_dir / i).stat().st_size == 10 for i in ids), timeout=30)
        # Every PATCH has stored its bytes, so every one of them has fired its post-receive, and they all hang.

        response = httpx.post(server.endpoint, headers={**TUS, "Upload-Length": "5"}, timeout=15)
        assert response.status_code == 201, response.text
    finally:
        for sock in tricklers:
            sock.close()
        server.stop()
