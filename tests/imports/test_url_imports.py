"""Importing a URL: a 202 at once, then the bytes fetched in the background through the PATCH path."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.events.clients import follow_ws, is_type
from tests.imports.helpers import settled, start_import
from tests.imports.sources import CONTENT, ETAG, SourceServer, wait_closed
from tests.support.live_server import LiveServer, start_live
from tests.support.tus import TUS
from tests.support.waiting import eventually


def events_uri(answer: dict[str, str]) -> str:
    """The upload's event socket, replaying what happened before it connected."""
    return answer["events_url"].replace("http://", "ws://") + "?since=0"  # from its first event


async def test_an_import_answers_202_with_where_to_follow_it_and_stores_the_source(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/file.bin", metadata={"kind": "test"})
    assert answer["url"] == import_server.endpoint + answer["id"]
    assert answer["progress_url"] == answer["url"] + "/progress"
    assert answer["events_url"] == answer["url"] + "/events"

    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "completed"
    assert snapshot["length"] == len(CONTENT)
    assert snapshot["filename"] == "file.bin"
    assert snapshot["metadata"]["kind"] == "test"
    assert snapshot["metadata"]["source_url"] == source.base_url + "/file.bin"
    assert snapshot["source"]["url"] == source.base_url + "/file.bin"
    assert snapshot["source"]["content_type"] == "application/x-test"
    assert snapshot["filetype"] == "application/x-test"  # the source's type becomes the upload's
    download = await http.get(answer["url"])
    assert download.content == CONTENT
    assert download.headers["Content-Type"] == "application/x-test"


async def test_the_listing_shows_where_an_import_came_from(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/file.bin", batch="listed-import")
    await settled(http, answer["progress_url"])
    listing = (await http.get(import_server.endpoint, params={"batch": "listed-import"})).json()
    assert [row["source"]["url"] for row in listing["uploads"]] == [source.base_url + "/file.bin"]


async def test_a_source_that_drops_mid_body_is_resumed_with_a_range_checked_by_its_etag(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/drop.bin")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "completed", snapshot
    assert (await http.get(answer["url"])).content == CONTENT
    second = source.requests_to("/drop.bin")[1]
    assert second["Range"] == f"bytes={len(CONTENT) // 3}-"
    assert second["If-Range"] == ETAG
    assert snapshot["source"]["attempts"] == 2


async def test_a_source_without_ranges_is_fetched_again_from_its_start(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/norange-drop.bin")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "completed", snapshot
    assert (await http.get(answer["url"])).content == CONTENT
    assert len(source.requests_to("/norange-drop.bin")) == 2


async def test_a_source_without_a_length_makes_a_deferred_upload_fixed_at_its_end(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/chunked.bin")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "completed", snapshot
    assert snapshot["length"] == len(CONTENT)
    assert (await http.get(answer["url"])).content == CONTENT


async def test_a_404_at_the_source_fails_the_import_with_its_reason(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/missing")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "failed"
    assert snapshot["source"]["error_code"] == "import_source_status"
    assert "404" in snapshot["source"]["error_message"]
    assert snapshot["download_url"] is None


async def test_an_endless_source_fails_as_too_large_past_max_size(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/endless")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "failed"
    assert snapshot["source"]["error_code"] == "import_too_large"
    assert snapshot["offset"] <= 2 * 2**20
    assert snapshot["completed_at"] is None


async def test_a_source_that_stalls_fails_after_its_retries_as_a_timeout(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/stall")
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["status"] == "failed"
    assert snapshot["source"]["error_code"] == "import_timeout"
    assert snapshot["source"]["attempts"] == 3  # the first, then --import-retries 2
    assert snapshot["completed_at"] is None


async def test_delete_cancels_an_import_in_flight(
    http: httpx.AsyncClient, tmp_path: Path, source: SourceServer
) -> None:
    server = start_live(tmp_path, "--import-allow", "127.0.0.1")  # no --max-size: the source never ends
    try:
        source.endless_closed.clear()
        answer = await start_import(http, server, source.base_url + "/endless")

        async def receiving() -> bool:
            return int((await http.get(answer["progress_url"])).json()["offset"]) > 0

        await eventually(receiving, timeout=30)
        response = await http.delete(answer["url"], headers=TUS)
        assert response.status_code == 204
        assert wait_closed(source.endless_closed), "the import kept reading the source"
        assert (await http.get(answer["progress_url"])).status_code == 410
    finally:
        server.stop()


async def test_an_import_tells_created_progress_and_completed_on_its_event_stream(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/file.bin")
    follower = await follow_ws(events_uri(answer), stop_after=is_type("completed", "failed"))
    types = [event["type"] for event in follower.events]
    assert types[0] == "created"
    assert "progress" in types
    assert types[-1] == "completed"
    assert follower.events[-1]["length"] == len(CONTENT)


async def test_a_failed_import_tells_failed_with_its_reason_on_its_event_stream(
    http: httpx.AsyncClient, import_server: LiveServer, source: SourceServer
) -> None:
    answer = await start_import(http, import_server, source.base_url + "/missing")
    follower = await follow_ws(events_uri(answer), stop_after=is_type("completed", "failed"))
    failed = follower.events[-1]
    assert failed["type"] == "failed"
    assert failed["stage"] == "import"
    assert failed["error_code"] == "import_source_status"
