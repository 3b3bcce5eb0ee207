"""Progress events: offsets are bytes handed to storage, throttled to the interval, with speed and ETA."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
import pytest
import websockets

from tests.events.clients import (
    STREAM_TIMEOUT,
    WsFollower,
    create,
    events_path,
    following,
    paced,
    patch,
    seconds_between,
    started,
    ws_url,
)
from tests.events.conftest import PROGRESS_INTERVAL
from tests.support.live_server import LiveServer
from tests.support.tus import payload, upload_id

KiB = 1024
PIECE, EVERY, PIECES = 256 * KiB, 0.05, 40  # 5 MiB/s for 2 s: a steady pace
LENGTH = PIECE * PIECES
# Timestamps have millisecond precision: allow for that rounding when comparing gaps with the interval.
ROUNDING = 0.002


@dataclass
class Received:
    event: dict[str, Any]
    stored_bytes: int  # the size of the upload's data file when the event arrived


@dataclass
class PacedUpload:
    url: str
    received: list[Received] = field(default_factory=list)
    snapshots_while_moving: list[dict[str, Any]] = field(default_factory=list)
    snapshot_after: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r.event for r in self.received]

    @property
    def progress(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == "progress"]


async def watch_paced_upload(server: LiveServer) -> PacedUpload:
    async with httpx.AsyncClient(timeout=30) as http:
        url = await create(http, server, LENGTH, {"filename": "paced.bin"})
        observed = PacedUpload(url)
        data_file = server.upload_dir / upload_id(url)

        async def follow() -> None:
            async with websockets.connect(ws_url(server, events_path(url))) as ws:
                connected.set()
                async for message in ws:
                    observed.received.append(Received(json.loads(message), data_file.stat().st_size))

        async def poll_snapshots() -> None:
            while not sent.done():
                snapshot = (await http.get(f"{url}/progress")).json()
                if 0 < snapshot["offset"] < LENGTH:
                    observed.snapshots_while_moving.append(snapshot)
                await asyncio.sleep(0.1)  # a sampling rate, not a wait for something

        connected = asyncio.Event()
        follower = asyncio.create_task(follow())
        await started(follower, connected)
        sent = asyncio.create_task(patch(http, url, 0, paced(payload(LENGTH), PIECE, EVERY)))
        await asyncio.gather(sent, poll_snapshots())
        assert sent.result().status_code == 204
        async with asyncio.timeout(STREAM_TIMEOUT):
            await follower
        observed.snapshot_after = (await http.get(f"{url}/progress")).json()
        return observed


@pytest.fixture(scope="module")
def paced_upload(events_server: LiveServer) -> PacedUpload:
    """One upload sent at a steady pace, watched over WebSocket and polled for snapshots (~2 s)."""
    return asyncio.run(watch_paced_upload(events_server))


def moving(progress: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Progress events sent while bytes were still arriving (the last one reports the finished upload)."""
    return [e for e in progress if e["offset"] < LENGTH]


# -- offsets ----------------------------------------------------------------------------------------


def test_a_progress_offset_never_exceeds_the_bytes_on_disk_when_it_arrives(paced_upload: PacedUpload) -> None:
    assert paced_upload.progress
    for received in paced_upload.received:
        assert received.event["offset"] <= received.stored_bytes, received


def test_offsets_never_go_backwards(paced_upload: PacedUpload) -> None:
    offsets = [e["offset"] for e in paced_upload.events]

    assert offsets == sorted(offsets)


def test_the_last_progress_offset_is_the_length(paced_upload: PacedUpload) -> None:
    assert paced_upload.progress[-1]["offset"] == LENGTH
    assert paced_upload.progress[-1]["percentage"] == 100.0


def test_the_stream_is_created_then_progress_then_completed(paced_upload: PacedUpload) -> None:
    types = [e["type"] for e in paced_upload.events]

    assert types[0] == "created"
    assert types[-1] == "completed"
    assert set(types[1:-1]) == {"progress"}


def test_percentage_is_offset_over_length(paced_upload: PacedUpload) -> None:
    for event in paced_upload.progress:
        assert event["percentage"] == round(100 * event["offset"] / LENGTH, 2)


def test_a_progress_event_has_a_human_message(paced_upload: PacedUpload) -> None:
    assert paced_upload.progress[-1]["message"] == "received 10.0 MiB of 10.0 MiB (100%)"


# -- throttling -------------------------------------------------------------------------------------


def test_progress_events_are_at_least_the_interval_apart(paced_upload: PacedUpload) -> None:
    progress = paced_upload.progress
    gaps = [seconds_between(a, b) for a, b in pairwise(progress[:-1])]  # the last may come sooner

    assert len(gaps) >= 5
    assert min(gaps) >= PROGRESS_INTERVAL - ROUNDING, gaps


def test_throttling_still_reports_steadily_while_bytes_flow(paced_upload: PacedUpload) -> None:
    # Storage reports every 64 KiB (about 80 times a second here); events go out about every interval.
    progress = moving(paced_upload.progress)
    span = seconds_between(progress[0], progress[-1])

    assert len(progress) >= span / (3 * PROGRESS_INTERVAL)


def test_no_progress_event_repeats_the_previous_offset(paced_upload: PacedUpload) -> None:
    offsets = [e["offset"] for e in paced_upload.progress]

    assert all(later > earlier for earlier, later in pairwise(offsets))


# -- speed and ETA ----------------------------------------------------------------------------------


def test_progress_events_carry_speed_and_eta_while_the_upload_moves(paced_upload: PacedUpload) -> None:
    later = moving(paced_upload.progress)[1:]  # the very first may come before a second sample exists

    assert later
    for event in later:
        assert event["bytes_per_second"] and event["bytes_per_second"] > 0, event
        assert event["eta_seconds"] is not None, event


def test_speed_is_close_to_the_senders_pace(paced_upload: PacedUpload) -> None:
    pace = PIECE / EVERY
    speeds = [e["bytes_per_second"] for e in moving(paced_upload.progress)[3:]]

    assert speeds
    for speed in speeds:
        assert 0.4 * pace < speed < 1.6 * pace, (speed, pace)


def test_eta_is_the_remaining_bytes_over_the_speed(paced_upload: PacedUpload) -> None:
    for event in moving(paced_upload.progress)[1:]:
        expected = (LENGTH - event["offset"]) / event["bytes_per_second"]
        assert event["eta_seconds"] == pytest.approx(expected, abs=0.11)


def test_a_finished_upload_reports_no_speed_or_eta(paced_upload: PacedUpload) -> None:
    final = paced_upload.events[-1]

    assert (final["bytes_per_second"], final["eta_seconds"]) == (None, None)


def test_the_snapshot_shows_speed_eta_and_estimated_completion_while_moving(paced_upload: PacedUpload) -> None:
    later = paced_upload.snapshots_while_moving[1:]

    assert len(later) >= 5
    for snapshot in later:
        assert snapshot["status"] == "uploading"
        assert snapshot["bytes_per_second"] and snapshot["bytes_per_second"] > 0, snapshot
        assert snapshot["eta_seconds"] is not None, snapshot
        assert snapshot["estimated_completion"] is not None, snapshot


def test_the_snapshot_of_a_finished_upload_has_no_speed_or_eta(paced_upload: PacedUpload) -> None:
    after = paced_upload.snapshot_after

    assert after["status"] == "completed"
    assert (after["bytes_per_second"], after["eta_seconds"], after["estimated_completion"]) == (None, None, None)


# -- many requests ----------------------------------------------------------------------------------


async def test_an_upload_sent_in_many_quick_patches_is_throttled_too(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    chunk, chunks = 16 * KiB, 40
    url = await create(http, events_server, chunk * chunks)
    follower = WsFollower()
    task = await following(follower, ws_url(events_server, events_path(url)))

    for n in range(chunks):
        response = await patch(http, url, n * chunk, payload(chunk, seed=n))
        assert response.status_code == 204
    await task

    progress = [e for e in follower.events if e["type"] == "progress"]
    gaps = [seconds_between(a, b) for a, b in pairwise(progress[:-1])]  # the last may come sooner
    assert progress[-1]["offset"] == chunk * chunks
    assert all(gap >= PROGRESS_INTERVAL - ROUNDING for gap in gaps), (len(progress), gaps)


async def test_a_patch_that_sends_part_of_the_upload_reports_what_it_stored(
    events_server: LiveServer, http: httpx.AsyncClient
) -> None:
    url = await create(http, events_server, 1000)
    follower = WsFollower()
    task = await following(
        follower, ws_url(events_server, events_path(url)), stop_after=lambda e: e["type"] == "progress"
    )

    response = await patch(http, url, 0, payload(300))
    await task

    assert response.status_code == 204
    assert follower.events[-1]["offset"] == 300
    assert follower.events[-1]["status"] == "uploading"
