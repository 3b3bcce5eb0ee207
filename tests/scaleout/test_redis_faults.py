"""Redis going away and coming back under a running instance: requests that need a lock answer 503 rather
than risk corruption, the process stays up, and it recovers by itself when Redis returns on the same port."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.events.clients import (
    SseFollower,
    WsFollower,
    events_path,
    follow_ws,
    following,
    paced,
    started,
    until,
    ws_url,
)
from tests.scaleout.cluster import Cluster, on, start_patch
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

SIZE = 300_000
STORED_FIRST = 100_000


@pytest.fixture
def server(tmp_path: Path, redis_server: RedisServer) -> Iterator[LiveServer]:
    """One instance on the test's own Redis, which the test stops and starts again."""
    args = ("--redis-url", redis_server.url, "--lock-ttl", "1s")
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", *args)
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


def stored(server: LiveServer, url: str) -> bytes:
    return (server.upload_dir / upload_id(url)).read_bytes()


def half_uploaded(server: LiveServer, data: bytes) -> str:
    url = create(server.endpoint, len(data))
    assert patch(url, 0, data[:STORED_FIRST]).status_code == 204
    return url


def subscribed(redis_server: RedisServer) -> bool:
    """Whether the instance's pub/sub loops are (again) listening for events and release requests."""
    channels = ("tusd_py:events", "tusd_py:lock-release")
    with redis.Redis.from_url(redis_server.url) as client:
        return all(count >= 1 for _, count in client.pubsub_numsub(*channels))


def test_requests_that_need_a_lock_answer_503_while_redis_is_down(
    server: LiveServer, redis_server: RedisServer
) -> None:
    data = payload(SIZE)
    url = half_uploaded(server, data)
    redis_server.stop()

    head = httpx.head(url, headers=TUS)
    assert head.status_code == 503
    assert head.headers["content-type"] == "application/json"  # a HEAD answer has no body to carry the JSON
    for response in (
        patch(url, STORED_FIRST, data[STORED_FIRST:]),
        httpx.delete(url, headers=TUS),
    ):
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert response.json()["error_code"] == "lock_unavailable"
        assert "unreachable" in response.json()["error_message"]

    assert stored(server, url) == data[:STORED_FIRST]
    assert server.process is not None and server.process.poll() is None
    assert httpx.get(server.base_url + "/healthz").status_code == 200
    assert httpx.get(server.base_url + "/readyz").json()["details"] == {"redis": "unreachable: ConnectionError"}


def test_a_patch_whose_lock_cannot_be_renewed_stops_with_503_keeping_its_bytes(
    server: LiveServer, redis_server: RedisServer
) -> None:
    data = payload(SIZE)
    url = create(server.endpoint, SIZE)
    request = start_patch(server, url, 0, SIZE)
    request.send(data[:STORED_FIRST])
    wait_until(lambda: len(stored(server, url)) == STORED_FIRST)

    redis_server.stop()
    status, headers, body = request.response(timeout=10)  # the client is still sending: the server ends it
    request.close()

    assert status == 503
    assert b'"lock_lost"' in body
    assert headers["upload-offset"] == str(STORED_FIRST)
    assert stored(server, url) == data[:STORED_FIRST]


def test_the_first_request_after_redis_is_back_is_served(server: LiveServer, redis_server: RedisServer) -> None:
    data = payload(SIZE)
    url = half_uploaded(server, data)
    redis_server.stop()
    redis_server.start()
    wait_until(lambda: subscribed(redis_server))  # the instance has noticed Redis is back

    response = httpx.head(url, headers=TUS)
    assert response.status_code == 200, f"{response.status_code} {response.headers.get('content-type')}"


async def test_the_server_recovers_by_itself_once_redis_is_back(server: LiveServer, redis_server: RedisServer) -> None:
    """HEAD works again, a new WebSocket gets events again, and the upload completes with the right bytes."""
    data = payload(SIZE)
    url = half_uploaded(server, data)
    redis_server.stop()
    assert httpx.head(url, headers=TUS).status_code == 503

    redis_server.start()  # same port, no data: as after a restart without persistence
    wait_until(lambda: httpx.head(url, headers=TUS).status_code == 200)
    await until(lambda: subscribed(redis_server))  # the pub/sub loops have reconnected

    offset = offset_of(url)
    assert offset == STORED_FIRST
    follower = WsFollower()
    following = asyncio.create_task(follower.run(ws_url(server, events_path(url))))
    await started(following, follower.connected)
    async with httpx.AsyncClient(timeout=30) as http:
        body = paced(data[offset:], 50_000, 0.05)
        response = await http.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset)})
    assert response.status_code == 204
    await asyncio.wait_for(following, 20)

    assert sha256(stored(server, url)) == sha256(data)
    types = [event["type"] for event in follower.events]
    assert "progress" in types
    assert types[-1] == "completed"
    assert follower.events[-1]["offset"] == SIZE


async def test_a_websocket_opened_while_redis_is_down_is_closed_not_dropped(
    server: LiveServer, redis_server: RedisServer
) -> None:
    url = create(server.endpoint, SIZE)
    redis_server.stop()

    follower = await follow_ws(ws_url(server, events_path(url)))
    async with httpx.AsyncClient() as http:
        sse = await http.get(f"{url}/events")

    # As docs/events.md says: not 1006, the connection vanishing without a close frame.
    assert (follower.close_code, follower.close_reason) == (1011, "shared state unreachable")
    assert (sse.status_code, sse.json()["error_code"], sse.headers["retry-after"]) == (503, "redis_unavailable", "2")
    assert server.process is not None and server.process.poll() is None


async def test_a_follower_gets_completed_published_while_its_instance_could_not_hear_redis(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """An SSE follower on B, the upload PATCHed on A. Redis restarts (without its data) while B is frozen, and A
    completes the upload before B has subscribed again: B must still hand its follower `completed`."""
    cluster = Cluster(tmp_path, redis_server, "--lock-ttl", "1s")
    try:
        a, b = cluster.start_instances(2)
        data = payload(SIZE)
        url = half_uploaded(a, data)
        follower = SseFollower()
        following_task = await following(follower, f"{on(b, url)}/events")
        await until(lambda: any(event["type"] == "progress" for event in follower.events))

        assert b.process is not None
        b.process.send_signal(signal.SIGSTOP)  # deaf: it cannot resubscribe before the upload completes
        try:
            redis_server.stop()
            redis_server.start()  # same port, no data
            wait_until(lambda: httpx.head(url, headers=TUS).status_code == 200)
            assert patch(url, STORED_FIRST, data[STORED_FIRST:]).status_code == 204
        finally:
            b.process.send_signal(signal.SIGCONT)

        await asyncio.wait_for(following_task, 20)
        assert follower.ended_by_server
        assert follower.events[-1]["type"] == "completed"
        assert follower.events[-1]["offset"] == SIZE
    finally:
        cluster.stop()


def test_events_lost_while_redis_is_down_are_one_log_line_each(
    server: LiveServer, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        created = httpx.post(server.endpoint, headers={**TUS, "Upload-Length": "10"})
        assert created.status_code == 201  # creating needs no lock; its `created` event cannot be published
        wait_until(lambda: "could not publish created event" in server.log())
    finally:
        redis_server.start()
    assert "Traceback" not in server.log()


async def test_an_upload_completed_while_redis_is_down_still_ends_its_event_streams(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The `completed` event could not be published while Redis was down; once Redis is back it is, so a follower
    connected all along hears it and its stream ends (it used to wait forever)."""
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", "--redis-url", redis_server.url,
                        "--lock-ttl", "60s")  # the lock outlives the outage: the PATCH can finish without Redis
    server.upload_dir.mkdir()
    server.start()
    try:
        data = payload(SIZE)
        url = create(server.endpoint, SIZE)
        follower = WsFollower()
        following = asyncio.create_task(follower.run(ws_url(server, events_path(url))))
        await started(following, follower.connected)
        request = start_patch(server, url, 0, SIZE)
        request.send(data[:STORED_FIRST])
        await until(lambda: len(stored(server, url)) == STORED_FIRST)
        redis_server.stop()
        request.send(data[STORED_FIRST:])
        status, _, _ = request.response(timeout=10)
        request.close()
        assert status == 204
        await until(lambda: "could not publish completed event" in server.log())

        redis_server.start()
        await asyncio.wait_for(following, 30)
    finally:
        server.stop()
    assert [event["type"] for event in follower.events][-1] == "completed"
    assert follower.close_code == 1000
