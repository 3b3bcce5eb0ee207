"""Bodies the kernel moves from the socket into the file (splice), against real `tusd-py serve` processes.

`tusd_py_bytes_spliced_total` in /metrics says which path a body took; with `--socket-bodies false` every body
goes through the application, and both paths must store the same bytes and give the same answers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LiveServer, start_live
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

MIB = 1024 * 1024
# Before the application takes the socket, the server may have read up to its 1 MiB queue plus one read.
READ_AHEAD = MIB + 512 * 1024


def spliced(server: LiveServer) -> int:
    text = httpx.get(server.base_url + "/metrics").text
    found = re.search(r"^tusd_py_bytes_spliced_total (\S+)$", text, re.MULTILINE)
    assert found, text
    return int(float(found.group(1)))


@pytest.fixture(scope="module")
def without_splice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("no-splice"), "--socket-bodies", "false")
    yield server
    server.stop()


def raw_patch(server: LiveServer, url: str, offset: int, length: int, **extra: str) -> RawRequest:
    path = url.split(str(server.port), 1)[1]
    headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length), **extra}
    return RawRequest(server.port, "PATCH", path, headers)


def test_a_large_patch_is_moved_by_the_kernel_and_stored_byte_for_byte(shared_live_server: LiveServer) -> None:
    data = payload(24 * MIB, seed=21)
    url = create(shared_live_server.endpoint, len(data))
    before = spliced(shared_live_server)

    response = patch(url, 0, data)

    assert response.status_code == 204
    assert response.headers["upload-offset"] == str(len(data))
    moved = spliced(shared_live_server) - before
    assert len(data) - READ_AHEAD <= moved <= len(data)  # all but what was read before the app took it
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_with_socket_bodies_off_the_same_patch_goes_through_the_app(without_splice: LiveServer) -> None:
    data = payload(24 * MIB, seed=21)
    url = create(without_splice.endpoint, len(data))

    response = patch(url, 0, data)

    assert response.status_code == 204
    assert spliced(without_splice) == 0
    assert sha256((without_splice.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_creation_with_upload_body_is_moved_by_the_kernel(shared_live_server: LiveServer) -> None:
    data = payload(4 * MIB, seed=22)
    before = spliced(shared_live_server)
    response = httpx.post(
        shared_live_server.endpoint,
        content=data,
        headers={**OFFSET_BODY, "Upload-Length": str(len(data))},
    )
    assert response.status_code == 201
    assert response.headers["upload-offset"] == str(len(data))
    assert spliced(shared_live_server) - before >= len(data) - READ_AHEAD
    stored = shared_live_server.upload_dir / upload_id(response.headers["location"])
    assert sha256(stored.read_bytes()) == sha256(data)


def test_small_checksummed_and_overlong_bodies_take_the_checked_path(shared_live_server: LiveServer) -> None:
    before = spliced(shared_live_server)
    small = payload(512 * 1024, seed=23)
    url = create(shared_live_server.endpoint, 6 * MIB)
    assert patch(url, 0, small).status_code == 204

    checked = payload(2 * MIB, seed=24)
    digest = base64.b64encode(hashlib.sha1(checked).digest()).decode()
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    assert patch(url, len(small), checked, **{"Upload-Checksum": f"sha1 {wrong}"}).status_code == 460
    assert offset_of(url) == len(small)
    assert patch(url, len(small), checked, **{"Upload-Checksum": f"sha1 {digest}"}).status_code == 204

    offset = len(small) + len(checked)
    overlong = payload(6 * MIB - offset + 100, seed=25)
    response = patch(url, offset, overlong)
    assert response.status_code == 413
    assert response.json()["error_code"] == "body_exceeds_length"

    assert spliced(shared_live_server) == before
    stored = (shared_live_server.upload_dir / upload_id(url)).read_bytes()
    assert stored == small + checked  # a Content-Length past the upload's length is refused before any byte


def test_expect_100_continue_is_answered_before_the_kernel_takes_the_body(shared_live_server: LiveServer) -> None:
    data = payload(4 * MIB, seed=26)
    url = create(shared_live_server.endpoint, len(data))
    request = raw_patch(shared_live_server, url, 0, len(data), Expect="100-continue")
    try:
        status, _, _ = request.response(timeout=10)
        assert status == 100
        request.send(data)
        status, headers, _ = request.response(timeout=30)
    finally:
        request.close()
    assert status == 204
    assert headers["upload-offset"] == str(len(data))
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_patches_one_after_another_on_one_connection_are_all_moved(shared_live_server: LiveServer) -> None:
    data = payload(12 * MIB, seed=27)
    url = create(shared_live_server.endpoint, len(data))
    before = spliced(shared_live_server)
    with httpx.Client() as client:  # one keep-alive connection
        for offset in range(0, len(data), 4 * MIB):
            response = client.patch(
                url, content=data[offset : offset + 4 * MIB], headers={**OFFSET_BODY, "Upload-Offset": str(offset)}
            )
            assert response.status_code == 204, response.text
    assert spliced(shared_live_server) - before >= len(data) - 3 * READ_AHEAD
    assert sha256((shared_live_server.upload_dir / upload_id(url)).read_bytes()) == sha256(data)


def test_a_stalled_kernel_body_times_out_with_every_received_byte_stored(tmp_path: Path) -> None:
    server = start_live(tmp_path, "--network-timeout", "1s")
    try:
        data = payload(3 * MIB, seed=28)
        url = create(server.endpoint, 8 * MIB)
        request = raw_patch(server, url, 0, 8 * MIB)
        request.send(data)
        status, headers, body = request.response(timeout=15)
        request.close()
        assert status == 408
        assert b'"body_timeout"' in body
        assert headers["upload-offset"] == str(len(data))
        assert spliced(server) >= len(data) - READ_AHEAD
        assert (server.upload_dir / upload_id(url)).read_bytes() == data
    finally:
        server.stop()


def test_a_shutdown_mid_body_answers_503_and_the_upload_resumes_after_restart(tmp_path: Path) -> None:
    server = start_live(tmp_path)
    try:
        data = payload(8 * MIB, seed=29)
        url = create(server.endpoint, len(data))
        stored = server.upload_dir / upload_id(url)
        request = raw_patch(server, url, 0, len(data))
        request.send(data[: 3 * MIB])
        wait_until(lambda: stored.stat().st_size == 3 * MIB)
        assert server.process is not None
        server.process.terminate()
        status, headers, _ = request.response(timeout=15)
        request.close()
        assert status == 503
        assert headers["upload-offset"] == str(3 * MIB)
        server.process.wait(15)
        server.start()
        assert offset_of(url) == 3 * MIB
        assert patch(url, 3 * MIB, data[3 * MIB :]).status_code == 204
        assert sha256(stored.read_bytes()) == sha256(data)
    finally:
        server.stop()
