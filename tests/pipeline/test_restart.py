"""Pending work survives a crash: the pipeline's state is stored with the upload, and a new server on the same
upload directory runs what was cut off to the end."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.events.clients import WsFollower, create, events_path, following, upload, ws_url
from tests.pipeline.conftest import pipeline_server
from tests.support.tus import upload_id
from tests.support.waiting import eventually

pytestmark = pytest.mark.stores("file", "s3")  # the pipeline reads a finished upload from either store

STAGES = "digests=examples.pipeline.stages:digests,gate=tests.pipeline.stages:gate"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_processing_cut_off_by_a_crash_is_finished_by_the_next_server(
    http: httpx.AsyncClient, tmp_path: Path, store_kind: str, request: pytest.FixtureRequest
) -> None:
    shared = tmp_path / "shared"
    data = b"survives a crash" * 1000
    first = pipeline_server(tmp_path, "--pipeline", STAGES, store_kind=store_kind, request=request)
    try:
        url = await create(http, first, len(data), {"filename": "crash.bin"})
        await upload(http, url, data)
        started = shared / f"started-{upload_id(url)}"

        async def gate_entered() -> bool:
            return started.exists()

        await eventually(gate_entered)
        snapshot = (await http.get(f"{url}/progress")).json()
        assert snapshot["status"] == "processing"
        assert snapshot["processing"]["stage"] == "gate"
    finally:
        first.kill()  # SIGKILL: no chance to save or hand over anything

    second = first  # the next server: the same upload directory (or bucket), the same port
    second.start()
    try:
        follower = WsFollower()
        watching = await following(follower, ws_url(second, events_path(url)))
        (shared / f"release-{upload_id(url)}").touch()
        await watching

        processed = follower.events[-1]
        assert processed["type"] == "processed"
        assert processed["result"]["digests"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert second.process is not None
        assert processed["result"]["gate"] == {"released": True, "runs": 2, "pid": second.process.pid}
        assert "gate" in [event.get("stage") for event in follower.events]
        assert follower.close_code == 1000

        second.restart()  # and once processed, it stays processed

        later = await WsFollower().run(ws_url(second, events_path(url)))
        assert [event["type"] for event in later.events] == ["processed"]
        assert later.events[0]["result"] == processed["result"]
        assert (await http.get(f"{url}/progress")).json()["status"] == "processed"
        assert len(started.read_text().splitlines()) == 2  # the restart did not run it a third time
    finally:
        second.stop()
