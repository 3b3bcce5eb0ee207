"""Termination on a real server: DELETE stops a PATCH in flight, removes data and info, and leaves 410 then 404."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.lifecycle.live import create, files_of, http, patch, running, start_patch, stored_size
from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.tus import TUS, upload_id
from tests.support.waiting import wait_until

SIZE = 1024 * 1024
SENT = 300_000


@pytest.fixture(scope="module")
def no_tombstones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("ttl-0"), "--tombstone-ttl", "0") as server:
        yield server


def patch_in_flight(server: LiveServer, url: str, **headers: str) -> RawRequest:
    """A PATCH that sent SENT of its SIZE bytes, all of them stored, and now waits mid-body."""
    request = start_patch(server, url, 0, SIZE, **headers)
    request.send(b"p" * SENT)
    wait_until(lambda: stored_size(server, url) == SENT)
    return request


def delete(url: str) -> httpx.Response:
    return http.delete(url, headers=TUS)


def test_delete_during_a_patch_answers_204_promptly(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    in_flight = patch_in_flight(shared_live_server, url)

    started = time.monotonic()
    response = delete(url)

    assert response.status_code == 204
    assert time.monotonic() - started < 2.0  # well inside the 5 s lock timeout: the PATCH was stopped, not waited for
    in_flight.close()


def test_the_patch_stopped_by_a_delete_gets_an_error_response(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    in_flight = patch_in_flight(shared_live_server, url)
    delete(url)

    status, headers, body = in_flight.response(timeout=5)

    assert 400 <= status < 500, (status, body)
    assert headers["tus-resumable"] == "1.0.0"
    assert b'"error_code"' in body
    in_flight.close()


def test_delete_during_a_patch_removes_the_data_and_the_info(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    in_flight = patch_in_flight(shared_live_server, url)
    delete(url)
    in_flight.response(timeout=5)  # the PATCH is over: nothing of it can land after this

    assert files_of(shared_live_server, url) == []
    in_flight.close()


def test_delete_during_a_checksummed_patch_leaves_no_staged_bytes(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    request = start_patch(shared_live_server, url, 0, SIZE, **{"Upload-Checksum": "sha1 " + "A" * 27 + "="})
    request.send(b"s" * SENT)
    staging = shared_live_server.upload_dir / f".{upload_id(url)}.staging"
    wait_until(lambda: staging.exists() and staging.stat().st_size == SENT)

    assert delete(url).status_code == 204
    request.response(timeout=5)

    assert files_of(shared_live_server, url) == []
    request.close()


def test_head_after_delete_is_410_while_the_tombstone_lasts(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    delete(url)

    response = http.head(url, headers=TUS)

    assert response.status_code == 410
    assert "upload-offset" not in response.headers


def test_patch_after_delete_is_410_while_the_tombstone_lasts(shared_live_server: LiveServer) -> None:
    url = create(shared_live_server.endpoint, SIZE)
    delete(url)

    response = patch(url, 0, b"late bytes")

    assert response.status_code == 410
    assert response.json()["error_code"] == "upload_gone"


def test_head_after_delete_is_404_once_the_tombstone_ttl_has_passed(short_lived: LiveServer) -> None:
    url = create(short_lived.endpoint, SIZE)  # tombstones last 1 s there
    delete(url)
    assert http.head(url, headers=TUS).status_code == 410

    wait_until(lambda: http.head(url, headers=TUS).status_code == 404, timeout=5)


def test_with_tombstone_ttl_0_head_after_delete_is_404_at_once(no_tombstones: LiveServer) -> None:
    url = create(no_tombstones.endpoint, SIZE)
    delete(url)

    response = http.head(url, headers=TUS)

    assert response.status_code == 404


def test_with_tombstone_ttl_0_delete_during_a_patch_leaves_nothing_behind(no_tombstones: LiveServer) -> None:
    url = create(no_tombstones.endpoint, SIZE)
    in_flight = patch_in_flight(no_tombstones, url)
    assert delete(url).status_code == 204
    in_flight.response(timeout=5)

    assert [p.name for p in no_tombstones.upload_dir.iterdir() if upload_id(url) in p.name] == []
    in_flight.close()
