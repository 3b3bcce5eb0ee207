"""SIGTERM ends event streams at once and, with --workers, ends each worker's PATCHes with 503 too."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.lifecycle.live import create, start_patch, stored_size
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until


def test_an_open_event_stream_does_not_hold_the_shutdown(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "up", tmp_path / "log", "--shutdown-timeout", "20s")
    server.upload_dir.mkdir()
    server.start()
    ended = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", server.endpoint + "events", timeout=30) as stream:
            for _ in stream.iter_lines():
                pass
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert server.process is not None
    wait_until(lambda: _open_streams(server) == 1)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5, "the event stream held the shutdown open"
    assert ended.wait(5), "the event stream did not end"


def _open_streams(server: LiveServer) -> int:
    text = httpx.get(server.base_url + "/metrics").text
    line = next(line for line in text.splitlines() if line.startswith("tusd_py_open_connections "))
    return int(float(line.split()[1])) - 1  # minus this /metrics request


def test_with_workers_sigterm_ends_an_in_flight_patch_with_503(tmp_path: Path, redis_server: RedisServer) -> None:
    server = LiveServer(
        tmp_path / "up", tmp_path / "log", "--workers", "2", "--redis-url", redis_server.url,
        "--shutdown-timeout", "20s",
    )
    server.upload_dir.mkdir()
    server.start()
    url = create(server.endpoint, 1_000_000)
    request = start_patch(server, url, 0, 1_000_000)
    request.send(b"w" * 300_000)
    wait_until(lambda: stored_size(server, url) == 300_000)

    started = time.monotonic()
    assert server.process is not None
    server.process.terminate()
    status, headers, body = request.response(timeout=10)
    assert status == 503, body
    assert headers["upload-offset"] == "300000"
    assert b'"server_shutting_down"' in body
    server.process.wait(15)
    assert time.monotonic() - started < 10
    assert stored_size(server, url) == 300_000
