"""Expiration on a real server: the sweeper removes expired unfinished uploads (and, with --retain-completed,
old finished ones) by itself, leaves 410 behind, and never expires an upload that keeps receiving bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from functools import partial

import httpx
import pytest

from tests.lifecycle.live import create, files_of, http, offset_of, patch, running, start_patch, stored_size
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, payload
from tests.support.waiting import wait_until

HOUR = 3600.0


@pytest.fixture
def expiring(short_lived: LiveServer) -> LiveServer:
    """Unfinished uploads expire half a second after their last byte; no retention limit for finished ones."""
    return short_lived


@pytest.fixture(scope="module")
def retaining(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Finished uploads are removed half a second after they complete; unfinished ones expire after an hour."""
    args = ("--expire-after", "1h", "--retain-completed", "500ms", "--sweep-interval", "50ms")
    with running(tmp_path_factory.mktemp("retaining"), *args) as server:
        yield server


def finished_upload(server: LiveServer, data: bytes) -> str:
    url = create(server.endpoint, len(data))
    assert patch(url, 0, data).status_code == 204
    return url


def swept(server: LiveServer, url: str) -> bool:
    return files_of(server, url) == []


def has_stored(server: LiveServer, url: str, size: int) -> bool:
    return stored_size(server, url) == size


def expires_at(response: httpx.Response) -> float:
    return parsedate_to_datetime(response.headers["upload-expires"]).timestamp()


def test_the_sweeper_removes_an_expired_unfinished_upload_by_itself(expiring: LiveServer) -> None:
    url = create(expiring.endpoint, 100)
    patch(url, 0, b"ten bytes!")
    assert files_of(expiring, url) != []

    wait_until(lambda: swept(expiring, url), timeout=5)


def test_an_upload_removed_on_expiry_answers_410(expiring: LiveServer) -> None:
    url = create(expiring.endpoint, 100)
    wait_until(lambda: swept(expiring, url), timeout=5)

    response = patch(url, 0, b"too late")

    assert response.status_code == 410
    assert response.json()["error_code"] == "upload_gone"


def test_a_finished_upload_stays_without_retain_completed(expiring: LiveServer) -> None:
    data = payload(1000)
    finished = finished_upload(expiring, data)
    witness = create(expiring.endpoint, 100)  # created later, so it expires after the finished one would have
    wait_until(lambda: swept(expiring, witness), timeout=5)

    assert offset_of(finished) == len(data)
    assert http.get(finished).content == data


def test_with_retain_completed_a_finished_upload_is_removed(retaining: LiveServer) -> None:
    url = finished_upload(retaining, payload(1000))

    wait_until(lambda: swept(retaining, url), timeout=5)
    assert http.head(url, headers=TUS).status_code == 410


def test_retain_completed_does_not_remove_unfinished_uploads(retaining: LiveServer) -> None:
    unfinished = create(retaining.endpoint, 100)
    patch(unfinished, 0, b"half")
    witness = finished_upload(retaining, payload(10))
    wait_until(lambda: swept(retaining, witness), timeout=5)

    assert offset_of(unfinished) == 4


def test_an_upload_that_keeps_receiving_patches_is_not_expired(expiring: LiveServer) -> None:
    url = create(expiring.endpoint, 1_000_000)
    witness = create(expiring.endpoint, 100)  # created later, left alone: it must expire after ours would have
    offset = 0
    deadline = time.monotonic() + 5
    while not swept(expiring, witness):
        assert time.monotonic() < deadline, "the idle witness upload never expired"
        response = patch(url, offset, b"0123456789")
        assert response.status_code == 204, response.text
        offset += 10

    assert offset_of(url) == offset


def test_a_patch_that_keeps_sending_bytes_is_not_expired(expiring: LiveServer) -> None:
    body = payload(200_000, seed=3)
    url = create(expiring.endpoint, 1_000_000)
    request = start_patch(expiring, url, 0, len(body))
    witness = create(expiring.endpoint, 100)
    sent = 0
    deadline = time.monotonic() + 5
    while not swept(expiring, witness):
        assert time.monotonic() < deadline, "the idle witness upload never expired"
        request.send(body[sent : sent + 1000])
        sent += 1000
        wait_until(partial(has_stored, expiring, url, sent))  # the server stores what it holds within 20 ms
    request.send(body[sent:])

    status, headers, _ = request.response(timeout=10)
    assert (status, headers["upload-offset"]) == (204, str(len(body)))
    assert offset_of(url) == len(body)
    request.close()


def test_upload_expires_moves_forward_with_each_patch(retaining: LiveServer) -> None:
    created = http.post(retaining.endpoint, headers={**TUS, "Upload-Length": "100"})
    url = created.headers["location"]
    first = patch(url, 0, b"a")
    # Upload-Expires counts whole seconds: wait until the clock has moved into the next one.
    wait_until(lambda: time.time() + HOUR >= expires_at(first) + 1, timeout=3)

    second = patch(url, 1, b"b")

    assert expires_at(created) <= expires_at(first) < expires_at(second)
    assert abs(expires_at(second) - (time.time() + HOUR)) < 5
