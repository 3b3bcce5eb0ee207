"""An import the server was fetching when it stopped (SIGTERM) or died (SIGKILL) goes on when it starts again:
with a Range request checked by the source's ETag, from the start when the source has no ranges, or it fails
with a clear reason on the upload's event stream."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.events.clients import follow_ws, is_type
from tests.imports.conftest import IMPORT_OPTIONS
from tests.imports.helpers import settled, start_import
from tests.imports.sources import CONTENT, ETAG, SourceServer
from tests.support.live_server import LiveServer, start_live
from tests.support.waiting import eventually

# The gated sources hold their first connection open after a third of the body: the importer must not give up on
# it before the test stops the server.
OPTIONS = (*IMPORT_OPTIONS, "--import-read-timeout", "120s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live(tmp_path, *OPTIONS)
    yield live
    live.stop()


async def stop_midway(http: httpx.AsyncClient, server: LiveServer, url: str, how: str) -> dict[str, str]:
    """Start importing `url`, wait until the third the source sends first is stored, then stop the server."""
    answer = await start_import(http, server, url)
    data = server.upload_dir / answer["id"]

    async def third_stored() -> bool:
        return data.exists() and data.stat().st_size >= len(CONTENT) // 3

    await eventually(third_stored, timeout=30)
    server.kill() if how == "sigkill" else server.stop()
    return answer


def events_uri(answer: dict[str, str]) -> str:
    return answer["events_url"].replace("http://", "ws://") + "?since=0"


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
async def test_an_interrupted_import_resumes_with_a_range_checked_by_its_etag(
    http: httpx.AsyncClient, server: LiveServer, source: SourceServer, how: str
) -> None:
    path = f"/gated/range-{how}"
    answer = await stop_midway(http, server, source.base_url + path, how)
    server.start()
    follower = await follow_ws(events_uri(answer), stop_after=is_type("completed", "failed"))
    assert follower.events[-1]["type"] == "completed"
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["source"]["status"] == "completed" and snapshot["source"]["resumes"] == 1
    resumed = source.requests_to(path)[1]
    assert resumed["Range"] == f"bytes={len(CONTENT) // 3}-" and resumed["If-Range"] == ETAG
    download = await http.get(answer["url"])
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(CONTENT).hexdigest()


async def test_an_interrupted_import_without_ranges_is_fetched_again_from_its_start(
    http: httpx.AsyncClient, server: LiveServer, source: SourceServer
) -> None:
    path = "/gated/plain-norange"
    answer = await stop_midway(http, server, source.base_url + path, "sigkill")
    server.start()
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["source"]["status"] == "completed"
    assert "Range" not in source.requests_to(path)[1]
    download = await http.get(answer["url"])
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(CONTENT).hexdigest()


async def test_a_source_that_changed_while_the_server_was_down_fails_the_import(
    http: httpx.AsyncClient, server: LiveServer, source: SourceServer
) -> None:
    answer = await stop_midway(http, server, source.base_url + "/gated/file-changing", "sigkill")
    server.start()
    follower = await follow_ws(events_uri(answer), stop_after=is_type("completed", "failed"))
    failed = follower.events[-1]
    assert failed["type"] == "failed" and failed["error_code"] == "import_source_changed"
    snapshot = await settled(http, answer["progress_url"])
    assert snapshot["completed_at"] is None


async def test_an_import_the_policy_no_longer_allows_fails_when_the_server_starts(
    http: httpx.AsyncClient, server: LiveServer, source: SourceServer
) -> None:
    answer = await stop_midway(http, server, source.base_url + "/gated/refused", "sigterm")
    server.args = [arg for arg in server.args if arg not in ("--import-allow", "127.0.0.1")]
    server.start()
    follower = await follow_ws(events_uri(answer), stop_after=is_type("completed", "failed"))
    failed = follower.events[-1]
    assert failed["type"] == "failed" and failed["error_code"] == "import_address_refused"
