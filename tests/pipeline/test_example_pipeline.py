"""The example pipeline (digests, inspect, thumbnail) in a real server, watched over the upload's WebSocket."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.events.clients import WsFollower, create, events_path, following, upload, ws_url
from tests.pipeline.conftest import EXAMPLE_STAGES, pipeline_server, png
from tests.support.live_server import LiveServer
from tests.support.tus import upload_id

STAGES = ["digests", "inspect", "thumbnail"]
pytestmark = pytest.mark.stores("file", "s3")  # the pipeline reads a finished upload from either store


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp(f"example-pipeline-{store_kind}")
    server = pipeline_server(root, "--pipeline", EXAMPLE_STAGES, store_kind=store_kind, request=request)
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def watched_upload(
    http: httpx.AsyncClient, server: LiveServer, data: bytes, metadata: dict[str, str]
) -> tuple[str, WsFollower]:
    """Create the upload, follow its WebSocket to the end, send the bytes; the follower's whole story."""
    url = await create(http, server, len(data), metadata)
    follower = WsFollower()
    watching = await following(follower, ws_url(server, events_path(url)))
    await upload(http, url, data)
    await watching
    return url, follower


def processing_of(events: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == "processing" and event["stage"] == stage]


async def test_a_websocket_sees_the_upload_then_each_stage_then_the_result(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    image = png(300, 200)

    url, follower = await watched_upload(http, server, image, {"filename": "photo.png", "filetype": "image/png"})

    types = [event["type"] for event in follower.events]
    assert types[0] == "created"
    assert types.index("progress") < types.index("completed") < types.index("processing")
    assert types[-1] == "processed"
    assert set(types[types.index("processing") : -1]) == {"processing"}
    stages_seen = [event["stage"] for event in follower.events if event["type"] == "processing"]
    assert list(dict.fromkeys(stages_seen)) == STAGES  # each stage in order, none coming back
    for stage in STAGES:
        progress = [event["stage_progress"] for event in processing_of(follower.events, stage)]
        assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress), (stage, progress)
    assert all(event["upload_id"] == upload_id(url) for event in follower.events)
    assert follower.close_code == 1000  # the stream ends, normally, after `processed`


async def test_the_result_holds_the_digests_the_dimensions_and_the_thumbnail(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    image = png(300, 200)

    url, follower = await watched_upload(http, server, image, {"filename": "photo.png"})

    result = follower.events[-1]["result"]
    assert result["digests"] == {
        "sha256": hashlib.sha256(image).hexdigest(),
        "md5": hashlib.md5(image).hexdigest(),
        "bytes": len(image),
    }
    assert result["inspect"]["kind"] == "image"
    assert result["inspect"]["content_type"] == "image/png"
    assert (result["inspect"]["width"], result["inspect"]["height"]) == (300, 200)
    thumbnail = Path(result["thumbnail"]["path"])
    assert thumbnail == (server.upload_dir / "_thumbnails" / f"{upload_id(url)}.jpg").resolve()
    assert result["thumbnail"]["bytes"] == thumbnail.stat().st_size
    with Image.open(thumbnail) as made:
        assert made.format == "JPEG"
        assert made.size == (128, 85) == (result["thumbnail"]["width"], result["thumbnail"]["height"])
        assert made.getpixel((120, 40)) == pytest.approx((255, 255, 255), abs=8)  # transparency became white


async def test_the_progress_snapshot_shows_processed_and_the_result(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    url, follower = await watched_upload(http, server, png(64, 64), {"filename": "icon.png"})

    snapshot = (await http.get(f"{url}/progress")).json()

    assert snapshot["status"] == "processed"
    assert snapshot["processing"]["status"] == "processed"
    assert snapshot["processing"]["result"] == follower.events[-1]["result"]
    assert snapshot["percentage"] == 100.0


async def test_a_document_gets_its_digests_and_no_thumbnail(http: httpx.AsyncClient, server: LiveServer) -> None:
    document = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"

    url, follower = await watched_upload(
        http, server, document, {"filename": "report.pdf", "filetype": "application/pdf"}
    )

    result = follower.events[-1]["result"]
    assert result["digests"]["sha256"] == hashlib.sha256(document).hexdigest()
    assert result["inspect"] == {
        "kind": "document",
        "content_type": "application/pdf",
        "declared_type": "application/pdf",
    }
    assert result["thumbnail"] == {"skipped": "not an image"}
    assert not (server.upload_dir / "_thumbnails" / f"{upload_id(url)}.jpg").exists()


async def test_a_stream_opened_after_processing_shows_the_result_and_ends(
    http: httpx.AsyncClient, server: LiveServer
) -> None:
    url, first = await watched_upload(http, server, png(32, 32), {"filename": "late.png"})

    later = await WsFollower().run(ws_url(server, events_path(url)))

    assert [event["type"] for event in later.events] == ["processed"]
    assert later.events[0]["result"] == first.events[-1]["result"]
    assert later.close_code == 1000
