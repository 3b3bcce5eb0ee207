"""An instance that dies or stalls mid-PATCH: its lock expires (--lock-ttl 2s), another instance takes the
upload over, and every stored byte is one the client sent for that position."""

from __future__ import annotations

import base64
import hashlib
import json
import signal

from tests.scaleout.cluster import Cluster, on, start_patch
from tests.support.live_server import LiveServer
from tests.support.tus import create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

SIZE = 400_000
STORED_FIRST = 100_000


def test_an_upload_resumes_on_another_instance_after_its_writer_was_killed(
    a: LiveServer, doomed: LiveServer, cluster: Cluster
) -> None:
    data = payload(SIZE)
    url = create(doomed.endpoint, SIZE)
    request = start_patch(doomed, url, 0, SIZE)
    request.send(data[:STORED_FIRST])
    wait_until(lambda: len(cluster.stored(url)) == STORED_FIRST)

    doomed.kill()
    request.close()
    with cluster.redis() as client:
        assert client.exists(f"tusd_py:lock:{upload_id(url)}")  # the dead instance's lock is still there

    offset = offset_of(on(a, url))  # answered once that lock has expired
    assert offset == STORED_FIRST
    assert patch(on(a, url), offset, data[offset:]).status_code == 204
    assert sha256(cluster.stored(url)) == sha256(data)


def test_an_instance_paused_past_its_lock_ttl_writes_nothing_once_another_has_taken_over(
    a: LiveServer, doomed: LiveServer, cluster: Cluster
) -> None:
    """A "slow instance" (a long GC pause, a frozen VM): while it is paused its lock expires and A takes over.
    When it wakes up it must find its lock gone and stop, without writing what it was still holding."""
    first, second = payload(SIZE, seed=1), payload(SIZE, seed=2)
    url = create(doomed.endpoint, SIZE)
    request = start_patch(doomed, url, 0, SIZE)
    request.send(first[:STORED_FIRST])
    wait_until(lambda: len(cluster.stored(url)) == STORED_FIRST)

    assert doomed.process is not None
    doomed.process.send_signal(signal.SIGSTOP)
    try:
        request.send(first[STORED_FIRST : STORED_FIRST + 50_000])  # reaches the paused instance's socket
        offset = offset_of(on(a, url))  # answered once the paused holder's lock has expired
        assert offset == STORED_FIRST
        assert patch(on(a, url), offset, second[offset : offset + 100_000]).status_code == 204
    finally:
        doomed.process.send_signal(signal.SIGCONT)
    status, _, _ = request.response(timeout=20)  # the woken instance has finished with its PATCH
    request.close()

    assert status in (409, 503)
    expected = first[:STORED_FIRST] + second[STORED_FIRST : STORED_FIRST + 100_000]
    stored = cluster.stored(url)
    assert len(stored) == len(expected), f"{len(stored) - len(expected)} bytes written after the new holder's"
    assert stored == expected


def test_an_instance_paused_past_its_lock_ttl_with_a_checksummed_body_waiting_answers_lock_lost(
    doomed: LiveServer, cluster: Cluster
) -> None:
    """The rest of a correct checksummed body waits in the paused instance's socket; once awake, the instance finds
    its lease gone. That is what it reports (503, retry), never a checksum mismatch (460, do not retry)."""
    data = payload(SIZE, seed=3)
    url = create(doomed.endpoint, SIZE)
    digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
    request = start_patch(doomed, url, 0, SIZE, **{"Upload-Checksum": f"sha1 {digest}"})
    staging = cluster.upload_dir / f".{upload_id(url)}.staging"
    request.send(data[:STORED_FIRST])
    wait_until(lambda: staging.exists() and staging.stat().st_size == STORED_FIRST)

    assert doomed.process is not None
    doomed.process.send_signal(signal.SIGSTOP)
    try:
        request.send(data[STORED_FIRST:])  # the whole rest: correct, but it waits in the paused instance's socket
        with cluster.redis() as client:
            wait_until(lambda: not client.exists(f"tusd_py:lock:{upload_id(url)}"), timeout=10)
    finally:
        doomed.process.send_signal(signal.SIGCONT)
    status, headers, body = request.response(timeout=20)
    request.close()

    assert (status, json.loads(body)["error_code"]) == (503, "lock_lost")
    assert headers["upload-offset"] == "0" and len(cluster.stored(url)) == 0  # nothing of the body joined the upload
