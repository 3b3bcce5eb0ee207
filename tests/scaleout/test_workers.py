"""`tusd-py serve --workers N`: worker processes sharing one port, one upload directory and one Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.scaleout.cluster import start_patch
from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.redis_server import RedisServer
from tests.support.tus import TUS, create, offset_of, payload, sha256, upload_id
from tests.support.waiting import wait_until

SIZE = 200_000


@pytest.fixture
def server(tmp_path: Path, redis_server: RedisServer) -> Iterator[LiveServer]:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("telling which worker serves a connection reads /proc (Linux)")
    args = ("--redis-url", redis_server.url, "--workers", "2")
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", *args)
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for thread in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{thread}/children") as listing:
            found |= {int(child) for child in listing.read().split()}
    return found


def serving_process(server: LiveServer, request: RawRequest) -> int | None:
    """The worker process holding the server end of this connection, found through /proc."""
    client_port = request.sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as table:
        for row in table.read().splitlines()[1:]:
            fields = row.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server.port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                inode = fields[9]
    assert server.process is not None
    for pid in children(server.process.pid):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
        except OSError:
            continue  # a process that ended meanwhile
    return None


def upload_through_one_worker(server: LiveServer, data: bytes) -> tuple[str, int]:
    """Create and upload; returns the upload's URL and the worker that received its bytes."""
    url = create(server.endpoint, len(data))
    request = start_patch(server, url, 0, len(data))
    request.send(data[:1000])
    worker = wait_until(lambda: serving_process(server, request))
    assert worker is not None
    request.send(data[1000:])
    status, _, _ = request.response()
    request.close()
    assert status == 204
    return url, worker


def test_two_workers_both_serve_and_share_uploads_through_redis(server: LiveServer) -> None:
    first, second, third = (payload(SIZE, seed) for seed in (1, 2, 3))
    first_url, first_worker = upload_through_one_worker(server, first)

    os.kill(first_worker, signal.SIGSTOP)  # while it is paused, only the other worker can take connections
    try:
        second_url, second_worker = upload_through_one_worker(server, second)
        assert offset_of(first_url) == SIZE  # the other worker knows the first worker's upload
    finally:
        os.kill(first_worker, signal.SIGCONT)
    third_url, _ = upload_through_one_worker(server, third)

    assert second_worker != first_worker
    for url, data in ((first_url, first), (second_url, second), (third_url, third)):
        assert sha256((server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)
        assert httpx.head(url, headers=TUS).headers["upload-offset"] == str(SIZE)


def test_several_workers_without_redis_are_refused_even_when_asked_for_by_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve"],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "TUSD_PY_WORKERS": "2", "TUSD_PY_REDIS_URL": ""},
    )
    assert result.returncode == 2
    assert "workers > 1 needs --redis-url" in result.stderr
