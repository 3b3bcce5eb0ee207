"""Bodies that never finish: a client that drops, a client that stalls, a server that dies. Nothing stored is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

SIZE = 2 * 1024 * 1024


def start_patch(server: LiveServer, url: str, offset: int, length: int) -> RawRequest:
    path = url.split(str(server.port), 1)[1]
    headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length)}
    return RawRequest(server.port, "PATCH", path, headers)


def test_bytes_received_before_the_client_drops_are_kept_and_resumable(shared_live_server: LiveServer) -> None:
    data = payload(SIZE)
    url = create(shared_live_server.endpoint, SIZE)
    request = start_patch(shared_live_server, url, 0, SIZE)
    request.send(data[:700_000])
    wait_until(lambda: (shared_live_server.upload_dir / upload_id(url)).stat().st_size == 700_000)
    request.abort()

    offset = wait_until(lambda: offset_of(url))
    assert offset == 700_000
    response = patch(url, offset, data[offset:])
    assert response.status_code == 204
    assert response.headers["upload-offset"] == str(SIZE)
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_an_idle_body_times_out_keeping_what_arrived(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "up", tmp_path / "log", "--network-timeout", "1s")
    server.upload_dir.mkdir()
    server.start()
    try:
        url = create(server.endpoint, SIZE)
        request = start_patch(server, url, 0, SIZE)
        request.send(b"x" * 100_000)
        status, headers, body = request.response(timeout=10)
        assert status == 408
        assert headers["upload-offset"] == "100000"
        assert b'"body_timeout"' in body
        assert offset_of(url) == 100_000
    finally:
        server.stop()


def test_a_second_request_makes_a_stalled_writer_let_go(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    holder = start_patch(shared_live_server, url, 0, SIZE)
    holder.send(b"a" * 300_000)
    wait_until(lambda: (shared_live_server.upload_dir / upload_id(url)).stat().st_size == 300_000)

    assert offset_of(url) == 300_000  # HEAD asked the holder to let go and got the true offset
    status, headers, body = holder.response(timeout=10)
    assert status == 409
    assert b'"upload_interrupted"' in body
    assert headers["upload-offset"] == "300000"
    holder.close()


def test_racing_writers_never_interleave_bytes(shared_live_server: LiveServer) -> None:
    """Four writers, each with its own bytes, race to finish one upload, taking it over from each other.

    Every stored byte must be some writer's byte for that very position: a byte written at a wrong
    offset, or two writers appending at once, would break that at once with random data.
    """
    size = 1024 * 1024
    sources = [payload(size, seed=100 + w) for w in range(4)]
    url = create(shared_live_server.endpoint, size)
    statuses: list[int] = []

    def slow_body(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 32 * 1024):
            yield data[start : start + 32 * 1024]
            time.sleep(0.002)  # pace the sender so the writers overlap

    def writer(source: bytes) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(200):
                head = client.head(url, headers=TUS)
                offset = int(head.headers["upload-offset"])
                if offset == size:
                    return
                headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(size - offset)}
                statuses.append(client.patch(url, content=slow_body(source[offset:]), headers=headers).status_code)

    threads = [threading.Thread(target=writer, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    stored = (shared_live_server.upload_dir / upload_id(url)).read_bytes()
    assert len(stored) == size
    misplaced = [p for p in range(size) if all(stored[p] != source[p] for source in sources)]
    assert misplaced == []
    assert 204 in statuses
    assert set(statuses) <= {204, 409, 423}
    assert statuses.count(409) + statuses.count(423) > 0, "the writers never overlapped; the test proved nothing"


def test_an_upload_survives_a_server_killed_mid_patch(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "up", tmp_path / "log")
    server.upload_dir.mkdir()
    server.start()
    data = payload(SIZE, seed=7)
    url = create(server.endpoint, SIZE)
    request = start_patch(server, url, 0, SIZE)
    request.send(data[:1_000_000])
    data_file = server.upload_dir / upload_id(url)
    wait_until(lambda: data_file.stat().st_size == 1_000_000)
    server.kill()
    request.close()

    server.start()
    try:
        url = url.replace(url.split("/files/")[0], server.base_url)
        offset = offset_of(url)
        assert offset == 1_000_000
        assert patch(url, offset, data[offset:]).status_code == 204
        assert sha256(data_file.read_bytes()) == sha256(data)
    finally:
        server.stop()
