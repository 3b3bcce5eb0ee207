"""An import the server was fetching when it stopped (SIGTERM) or died (SIGKILL) goes on when it starts again:
with a Range request checked by the source's ETag, from the start when the source has no ranges, or it fails
with a clear reason on the upload's event stream."""

from __future__ import annotations

import asyncio
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
from tusd_py.imports.importer import Importer, ImportLimits
from tusd_py.imports.policy import AllowList
from tusd_py.imports.source import SourcePolicy
from tusd_py.locking.memory import MemoryLocker
from tusd_py.protocol.creation import CreationRequest
from tusd_py.storage.file import FileStore
from tusd_py.uploads.service import Limits, UploadService

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


async def test_instances_sharing_a_store_take_up_an_interrupted_import_once(
    tmp_path: Path, source: SourceServer
) -> None:
    """Two importers on one store and one locker (two instances after a third died) look for interrupted
    imports at the same time: one of them fetches it, once."""
    service = UploadService(FileStore(tmp_path), MemoryLocker(), Limits())
    url = source.base_url + "/file.bin"
    fetched_before = len(source.requests_to("/file.bin"))
    info = await service.create(
        CreationRequest(length=None, deferred=True),
        source={"type": "url", "url": url, "status": "importing", "attempts": 1},
    )
    policy = SourcePolicy(allow=AllowList.parse("127.0.0.1"))
    importers = [Importer(service, policy, ImportLimits()) for _ in range(2)]
    try:
        found = await asyncio.gather(*(importer.resume() for importer in importers))
        assert found == [1, 1]  # both see it; the import:<id> lock lets one of them fetch it
        await asyncio.gather(*(task for importer in importers for task in list(importer.tasks.values())))
        done = await service.load(info.id)
        assert done.is_complete and done.source is not None and done.source["status"] == "completed"
        assert done.source["resumes"] == 1
        assert len(source.requests_to("/file.bin")) == fetched_before + 1
        assert (tmp_path / info.id).read_bytes() == CONTENT
        assert await importers[0].resume() == 0 and await importers[1].resume() == 0  # nothing left to take up
    finally:
        for importer in importers:
            await importer.stop()
