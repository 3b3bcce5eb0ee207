"""What the server keeps in Redis: locks, sequence numbers, capped event histories, the concatenation index
and the batch book; every key with a TTL, so nothing grows without bound."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator
from itertools import pairwise

import httpx
import pytest
from redis.asyncio import Redis

from tests.scaleout.cluster import Cluster, on, start_patch
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.tus import TUS, create, patch, upload_id
from tests.support.waiting import wait_until
from tusd_py.events.models import ProgressEvent, utc_timestamp
from tusd_py.events.redis_bus import RedisEventBus
from tusd_py.state.redis import connect


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


NO_EXPIRY = -1  # what PTTL answers for a key that never expires


UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def keys_about(cluster: Cluster, *names: str) -> dict[str, int]:
    """Every key that names one of `names` (upload ids, batches), with its PTTL."""
    with cluster.redis() as client:
        found = {key.decode() for name in names for key in client.scan_iter(f"*{name}*")}
        return {key: client.pttl(key) for key in sorted(found)}


def deployment_keys(cluster: Cluster) -> dict[str, int]:
    """Keys of the deployment as a whole (naming no upload and no batch, such as a shared counter), with PTTL."""
    with cluster.redis() as client:
        found = {key.decode() for key in client.scan_iter("tusd_py:*")}
        return {key: client.pttl(key) for key in sorted(found) if not UPLOAD_ID.search(key) and "batch:" not in key}


def without_ttl(keys: dict[str, int]) -> list[str]:
    return [key for key, pttl in keys.items() if pttl == NO_EXPIRY]


def test_every_key_the_server_writes_has_a_ttl(a: LiveServer, b: LiveServer, cluster: Cluster) -> None:
    batch = "batch-of-ttls"
    tagged = {"Upload-Metadata": metadata(batch=batch, batch_total="1")}
    uploaded = create(a.endpoint, 10, **tagged)
    assert patch(on(b, uploaded), 0, b"0123456789").status_code == 204
    partial = create(a.endpoint, 10, **{"Upload-Concat": "partial"})
    final = httpx.post(a.endpoint, headers={**TUS, "Upload-Concat": f"final;{a.base_path}{upload_id(partial)}"})
    assert final.status_code == 201  # waits for its partial: the concatenation index holds it
    writing = create(a.endpoint, 10)
    stalled = start_patch(a, writing, 0, 10)  # holds its lock while it waits for its body
    stalled.send(b"01234")

    names = (upload_id(uploaded), upload_id(partial), upload_id(writing), batch)
    kinds = (
        f"lock:{upload_id(writing)}", "history:upload:", "finals-waiting:",
        "history:batch:", f"batch:{batch}:files", f"batch:{batch}:total", f"batch:{batch}:announced",
    )

    def missing_kinds() -> list[str]:
        keys = keys_about(cluster, *names)
        return [kind for kind in kinds if not any(kind in key for key in keys)]

    with contextlib.suppress(AssertionError):
        wait_until(lambda: not missing_kinds(), timeout=3)  # events and batches are recorded just after the answers
    found, missing = {**keys_about(cluster, *names), **deployment_keys(cluster)}, missing_kinds()
    stalled.close()

    # No key without a TTL, and every kind of key was there to be checked.
    assert not without_ttl(found) and not missing, f"without a TTL: {without_ttl(found)}; never written: {missing}"


def test_a_batch_rebuilt_after_its_keys_expired_has_ttls_again(a: LiveServer, cluster: Cluster) -> None:
    batch = "batch-rebuilt"
    url = create(a.endpoint, 10, **{"Upload-Metadata": metadata(batch=batch, batch_total="2")})
    assert patch(url, 0, b"0123456789").status_code == 204
    wait_until(lambda: httpx.get(f"{a.endpoint}batches/{batch}").json().get("finished") == 1)
    with cluster.redis() as client:
        for key in client.scan_iter(f"*batch:{batch}:*"):
            client.delete(key)  # as when they expire after a week without news of the batch

    summary = httpx.get(f"{a.endpoint}batches/{batch}").json()  # rebuilt from the upload directory
    assert (summary["files"], summary["finished"]) == (2, 1)

    rebuilt = keys_about(cluster, f"batch:{batch}:")
    assert {key.rsplit(":", 1)[1] for key in rebuilt} >= {"files", "total"}
    assert without_ttl(rebuilt) == []


# -- the event bus on its own ---------------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = connect(redis_server.url)
    yield client
    await client.aclose()


def progress(upload: str, seq: int) -> ProgressEvent:
    return ProgressEvent(upload_id=upload, seq=seq, timestamp=utc_timestamp(0), status="uploading", offset=seq)


async def test_an_uploads_event_history_is_a_stream_capped_at_the_history_size(redis_client: Redis) -> None:
    bus = RedisEventBus(redis_client, prefix="test:", history_size=3)
    for seq in range(1, 8):
        await bus.publish(progress("u1", seq))

    assert await redis_client.type("test:history:upload:u1") == b"stream"
    assert await redis_client.xlen("test:history:upload:u1") == 3
    assert [event.seq for event in await bus.replay("upload:u1", 0)] == [5, 6, 7]
    assert await redis_client.ttl("test:history:upload:u1") > 0


@pytest.fixture
async def buses(redis_server: RedisServer) -> AsyncIterator[list[RedisEventBus]]:
    """The event buses of two instances: each its own Redis connection."""
    buses = [RedisEventBus(connect(redis_server.url), prefix="test:") for _ in range(2)]
    yield buses
    await asyncio.gather(*(bus.redis.aclose() for bus in buses))


async def test_instances_number_the_events_of_one_upload_in_one_sequence(buses: list[RedisEventBus]) -> None:
    seqs = [await buses[n % 2].next_seq("upload:u1") for n in range(6)]
    assert all(earlier < later for earlier, later in pairwise(seqs))


async def test_what_the_bus_writes_to_redis_expires(buses: list[RedisEventBus], redis_client: Redis) -> None:
    event = progress("u1", await buses[0].next_seq("upload:u1"))
    await buses[1].publish(event)

    written = {key.decode(): await redis_client.pttl(key) async for key in redis_client.scan_iter("test:*")}
    assert written  # the sequence and the history, whatever their names
    assert [key for key, pttl in written.items() if pttl == NO_EXPIRY] == []
