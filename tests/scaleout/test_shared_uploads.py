"""Instances sharing Redis and an upload directory behave as one server: any of them continues any upload."""

from __future__ import annotations

import asyncio
import base64
import contextlib

import httpx

from tests.events.clients import WsFollower, ws_url
from tests.scaleout.cluster import Cluster, on
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


def test_an_upload_created_on_one_instance_is_written_on_another_and_read_back_on_the_first(
    a: LiveServer, b: LiveServer, cluster: Cluster
) -> None:
    data = payload(300_000)
    url = create(a.endpoint, len(data))

    first = patch(on(b, url), 0, data[:120_000])
    assert first.status_code == 204
    assert offset_of(url) == 120_000
    rest = patch(on(b, url), 120_000, data[120_000:])
    assert rest.status_code == 204

    head = httpx.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == head.headers["upload-length"] == str(len(data))
    assert sha256(cluster.stored(url)) == sha256(data)


def test_a_final_upload_created_on_one_instance_completes_when_its_last_partial_finishes_on_another(
    a: LiveServer, b: LiveServer, cluster: Cluster
) -> None:
    first, last = payload(100_000, seed=1), payload(150_000, seed=2)
    partial = {"Upload-Concat": "partial"}
    first_url, last_url = create(a.endpoint, len(first), **partial), create(a.endpoint, len(last), **partial)
    assert patch(first_url, 0, first).status_code == 204
    paths = " ".join(a.base_path + upload_id(url) for url in (first_url, last_url))
    created = httpx.post(a.endpoint, headers={**TUS, "Upload-Concat": f"final;{paths}"})
    assert created.status_code == 201
    final_url = created.headers["location"]
    assert "upload-offset" not in httpx.head(final_url, headers=TUS).headers  # still waiting for a partial

    assert patch(on(b, last_url), 0, last).status_code == 204

    # B assembled it before answering (it found A's final in the shared index): nothing else touched it.
    assert cluster.stored(final_url) == first + last
    head = httpx.head(final_url, headers=TUS)
    assert head.headers["upload-offset"] == str(len(first) + len(last))


def test_a_batch_is_summed_up_alike_on_every_instance(a: LiveServer, b: LiveServer) -> None:
    batch = "batch-across-instances"
    tagged = {"Upload-Metadata": metadata(batch=batch, batch_total="2")}
    on_a, on_b = create(a.endpoint, 10, **tagged), create(b.endpoint, 20, **tagged)
    assert patch(on_a, 0, b"a" * 10).status_code == 204
    assert patch(on_b, 0, b"b" * 20).status_code == 204

    def summary(server: LiveServer) -> dict[str, object]:
        response = httpx.get(f"{server.endpoint}batches/{batch}")
        assert response.status_code == 200, response.text
        return {key: value for key, value in response.json().items() if key in expected}

    # Each instance records its own file; either one's summary counts both.
    expected = {"files": 2, "finished": 2, "bytes_received": 30, "bytes_total": 30, "complete": True}
    wait_until(lambda: summary(a) == expected)  # events are recorded just after the PATCH answers
    assert summary(b) == expected


async def test_a_batch_finished_across_instances_is_announced_complete_on_every_instance(
    a: LiveServer, b: LiveServer
) -> None:
    batch = "batch-announced"
    tagged = {"Upload-Metadata": metadata(batch=batch, batch_total="2")}
    on_a, on_b = create(a.endpoint, 10, **tagged), create(b.endpoint, 20, **tagged)
    assert patch(on_a, 0, b"a" * 10).status_code == 204
    assert patch(on_b, 0, b"b" * 20).status_code == 204

    for server in (a, b):
        stream = WsFollower()  # replays the batch's history, then follows it until its completion
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stream.run(ws_url(server, f"batches/{batch}/events?since=0")), 3)
        completed = [event for event in stream.events if event["type"] == "batch-completed"]
        assert completed, f"no batch-completed event on {server.port}: {[event['type'] for event in stream.events]}"
        assert (completed[0]["total"], completed[0]["finished"], completed[0]["offset"]) == (2, 2, 30)
