"""A stage that raises: a `failed` event names it and its error, the snapshot says failed, later stages never run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.events.clients import WsFollower, create, events_path, following, upload, ws_url
from tests.pipeline.conftest import pipeline_server
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.stores("file", "s3")  # the pipeline reads a finished upload from either store


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    stages = (
        "digests=examples.pipeline.stages:digests,scan=tests.pipeline.stages:fail,timed=tests.pipeline.stages:timed"
    )
    root = tmp_path_factory.mktemp(f"failing-pipeline-{store_kind}")
    server = pipeline_server(root, "--pipeline", stages, store_kind=store_kind, request=request)
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_a_failing_stage_ends_the_stream_with_failed(http: httpx.AsyncClient, server: LiveServer) -> None:
    url = await create(http, server, 5, {"filename": "broken.bin"})
    follower = WsFollower()
    watching = await following(follower, ws_url(server, events_path(url)))

    await upload(http, url, b"bytes")
    await watching

    failed = follower.events[-1]
    assert failed["type"] == "failed"
    assert failed["status"] == "failed"
    assert failed["stage"] == "scan"
    assert failed["error_code"] == "stage_failed"
    assert failed["error_message"] == "ValueError: cannot read broken.bin"
    assert follower.close_code == 1000
    stages = [event["stage"] for event in follower.events if event["type"] == "processing"]
    assert list(dict.fromkeys(stages)) == ["digests", "scan"]  # `timed`, after it, never started


async def test_the_snapshot_of_a_failed_upload_says_which_stage_and_why(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    url = await create(http, server, 5, {"filename": "also-broken.bin"})
    follower = WsFollower()
    watching = await following(follower, ws_url(server, events_path(url)))
    await upload(http, url, b"bytes")
    await watching

    snapshot = (await http.get(f"{url}/progress")).json()

    assert snapshot["status"] == "failed"
    assert snapshot["processing"] == {
        "status": "failed",
        "stage": "scan",
        "error_code": "stage_failed",
        "error_message": "ValueError: cannot read also-broken.bin",
    }
    # The upload itself is intact: its bytes can still be downloaded.
    assert (await http.get(url)).content == b"bytes"


async def test_after_a_restart_a_failed_upload_still_says_so_and_its_stream_ends(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    url = await create(http, server, 5, {"filename": "once.bin"})
    follower = WsFollower()
    watching = await following(follower, ws_url(server, events_path(url)))
    await upload(http, url, b"bytes")
    await watching

    server.restart()  # a fresh server: no event history, only what is stored with the upload

    later = await WsFollower().run(ws_url(server, events_path(url)))
    assert [event["type"] for event in later.events] == ["failed"]
    assert later.events[0]["stage"] == "scan"
    assert later.events[0]["error_message"] == "ValueError: cannot read once.bin"
    assert later.close_code == 1000
    assert (await http.get(f"{url}/progress")).json()["status"] == "failed"
