"""One writer per upload across instances: clients racing on one upload through different instances take
turns (409 / 423), and never interleave their bytes."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.events.clients import paced, until
from tests.scaleout.cluster import Cluster, on
from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, TUS, create, payload

SIZE = 1_000_000
MAX_ROUNDS = 200  # far above what the race needs; only there to turn a livelock into a failure


async def write_until_complete(url: str, data: bytes, statuses: Counter[int]) -> None:
    """A resuming client: ask for the offset, send the rest slowly; again after each refusal or interruption."""
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(MAX_ROUNDS):
            head = await http.head(url, headers=TUS)
            if head.status_code != 200:
                statuses[head.status_code] += 1
                continue
            offset = int(head.headers["upload-offset"])
            if offset == len(data):
                return
            body = paced(data[offset:], 16_384, 0.01)
            response = await http.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset)})
            statuses[response.status_code] += 1
            if response.status_code == 204:
                return
    raise AssertionError(f"no end after {MAX_ROUNDS} rounds: {statuses}")


async def test_two_clients_racing_through_different_instances_never_interleave_bytes(
    a: LiveServer, b: LiveServer, cluster: Cluster
) -> None:
    mine, theirs = payload(SIZE, seed=11), payload(SIZE, seed=12)
    url = create(a.endpoint, SIZE)
    statuses: Counter[int] = Counter()

    first = asyncio.create_task(write_until_complete(url, mine, statuses))
    await until(lambda: len(cluster.stored(url)) > 0)  # the first writer is mid-body when the second one comes
    second = asyncio.create_task(write_until_complete(on(b, url), theirs, statuses))
    await asyncio.wait_for(asyncio.gather(first, second), 30)

    assert statuses[409] + statuses[423] > 0, f"the writers never overlapped: {statuses}"
    stored = cluster.stored(url)
    assert len(stored) == SIZE
    foreign = [i for i, byte in enumerate(stored) if byte != mine[i] and byte != theirs[i]]
    assert foreign == [], f"{len(foreign)} bytes stored at a position neither writer sent them for"
