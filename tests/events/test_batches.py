"""Batches: uploads sharing `batch` metadata (and optionally `batch_total`), summed up and announced as they go."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.events.clients import (
    SseFollower,
    WsFollower,
    create,
    following,
    patch,
    upload,
    ws_url,
)
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, payload, upload_id


async def summary(http: httpx.AsyncClient, server: LiveServer, batch: str) -> dict[str, Any]:
    response = await http.get(f"{server.endpoint}batches/{batch}")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def following_batch(server: LiveServer, batch: str) -> tuple[WsFollower, asyncio.Task[WsFollower]]:
    """A per-batch WebSocket follower, connected (the batch must have a file already, or it is unknown)."""
    follower = WsFollower()
    task = await following(follower, ws_url(server, f"batches/{batch}/events"))
    return follower, task


async def test_the_summary_counts_files_finished_failed_and_bytes(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    done = await create(http, events_server, 100, {"batch": "summary-counts"})
    half = await create(http, events_server, 300, {"batch": "summary-counts"})
    await upload(http, done, payload(100))
    assert (await patch(http, half, 0, payload(100))).status_code == 204

    assert await summary(http, events_server, "summary-counts") == {
        "batch": "summary-counts",
        "files": 2,
        "known_files": 2,
        "finished": 1,
        "failed": 0,
        "in_progress": 1,
        "bytes_received": 200,
        "bytes_total": 400,
        "percentage": 50.0,
        "complete": False,
    }


async def test_an_unknown_batch_is_404(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{events_server.endpoint}batches/no-such-batch")

    assert response.status_code == 404
    assert response.json()["error_code"] == "batch_not_found"


async def test_a_batch_completes_when_every_file_finished(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    urls = [await create(http, events_server, 50, {"batch": "completes"}) for _ in range(3)]
    follower, task = await following_batch(events_server, "completes")

    for url in urls:
        await upload(http, url, payload(50))
    await task

    final = follower.events[-1]
    assert final["type"] == "batch-completed"
    assert (final["total"], final["finished"], final["failed"]) == (3, 3, 0)
    assert (final["bytes_received"], final["bytes_total"], final["percentage"]) == (150, 150, 100.0)
    assert final["batch"] == "completes" and final["upload_id"] is None
    assert (await summary(http, events_server, "completes"))["complete"] is True


async def test_batch_progress_reports_the_running_counts(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    urls = [await create(http, events_server, 50, {"batch": "running-counts"}) for _ in range(2)]
    follower, task = await following_batch(events_server, "running-counts")

    await upload(http, urls[0], payload(50))
    await upload(http, urls[1], payload(50))
    await task

    counts = [(e["finished"], e["bytes_received"]) for e in follower.events if e["type"] == "batch-progress"]
    assert (1, 50) in counts
    assert counts == sorted(counts)
    assert all(e["total"] == 2 for e in follower.events if e["type"].startswith("batch-"))


async def test_the_batch_stream_carries_its_files_events_too(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 50, {"batch": "files-too"})
    follower, task = await following_batch(events_server, "files-too")

    await upload(http, url, payload(50))
    await task

    assert [e["type"] for e in follower.events if e["upload_id"] == upload_id(url)] == ["progress", "completed"]


async def test_a_terminated_file_counts_as_failed_and_the_batch_goes_on(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    kept = [await create(http, events_server, 50, {"batch": "one-fails"}) for _ in range(2)]
    dropped = await create(http, events_server, 50, {"batch": "one-fails"})
    follower, task = await following_batch(events_server, "one-fails")

    await upload(http, kept[0], payload(50))
    assert (await http.delete(dropped, headers=TUS)).status_code == 204
    await upload(http, kept[1], payload(50))
    await task

    final = follower.events[-1]
    assert final["type"] == "batch-completed"
    assert (final["total"], final["finished"], final["failed"]) == (3, 2, 1)
    assert "terminated" in [e["type"] for e in follower.events]
    state = await summary(http, events_server, "one-fails")
    assert (state["finished"], state["failed"], state["complete"]) == (2, 1, True)


async def test_a_batch_whose_files_all_fail_completes_with_failures(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 50, {"batch": "all-fail"})
    follower, task = await following_batch(events_server, "all-fail")

    assert (await http.delete(url, headers=TUS)).status_code == 204
    await task

    final = follower.events[-1]
    assert (final["type"], final["finished"], final["failed"]) == ("batch-completed", 0, 1)


async def test_batch_total_holds_completion_until_that_many_files_finished(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    meta = {"batch": "declared-three", "batch_total": "3"}
    first = await create(http, events_server, 10, meta)
    second = await create(http, events_server, 10, meta)
    await upload(http, first, payload(10))
    await upload(http, second, payload(10))

    state = await summary(http, events_server, "declared-three")

    assert (state["files"], state["known_files"], state["finished"], state["complete"]) == (3, 2, 2, False)
    assert (state["bytes_total"], state["percentage"]) == (None, None)  # the third file's length is unknown


async def test_the_declared_last_file_completes_the_batch(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    meta = {"batch": "declared-two", "batch_total": "2"}
    first = await create(http, events_server, 10, meta)
    await upload(http, first, payload(10))
    follower, task = await following_batch(events_server, "declared-two")

    second = await create(http, events_server, 10, meta)
    await upload(http, second, payload(10))
    await task

    completed = [e for e in follower.events if e["type"] == "batch-completed"]
    assert [(e["total"], e["finished"]) for e in completed] == [(2, 2)]


async def test_the_batch_websocket_closes_normally_after_batch_completed(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10, {"batch": "ws-closes"})
    follower, task = await following_batch(events_server, "ws-closes")

    await upload(http, url, payload(10))
    await task

    assert follower.events[-1]["type"] == "batch-completed"
    assert follower.close_code == 1000


async def test_the_batch_sse_stream_ends_after_batch_completed(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 10, {"batch": "sse-ends"})
    follower = SseFollower()
    task = await following(follower, f"{events_server.endpoint}batches/sse-ends/events")

    await upload(http, url, payload(10))
    await task

    assert follower.ended_by_server
    assert follower.events[-1]["type"] == "batch-completed"


async def test_batch_events_have_strictly_increasing_seq(events_server: LiveServer, http: httpx.AsyncClient) -> None:
    urls = [await create(http, events_server, 10, {"batch": "batch-seq"}) for _ in range(3)]
    follower, task = await following_batch(events_server, "batch-seq")

    for url in urls:
        await upload(http, url, payload(10))
    await task

    seqs = [e["seq"] for e in follower.events if e["type"].startswith("batch-")]
    assert seqs == sorted(set(seqs))


async def test_events_for_an_unknown_batch_are_404_with_wait_0(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{events_server.endpoint}batches/no-such-batch/events", params={"wait": "0"})

    assert response.status_code == 404
    assert response.json()["error_code"] == "batch_not_found"
