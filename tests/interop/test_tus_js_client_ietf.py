"""tus-js-client 4 under node speaking the IETF draft (`protocol: 'ietf-draft-03'` is interop 5, `'ietf-draft-05'`
interop 6) against a real `tusd-py serve`, compared by sha256."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.source_data import SOURCE_SIZE, MiB
from tests.interop.stored_upload import StoredUpload, sha256
from tests.interop.tus_js_client import TusJsClient
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.stores("file", "s3")  # the same clients against both stores
MODES = {"ietf-draft-03": "5", "ietf-draft-05": "6"}


def assert_copy(server: LiveServer, url: str | None, source: Path) -> StoredUpload:
    assert url is not None
    stored = StoredUpload.load(server.storage, url)
    assert stored.sha256 == sha256(source.read_bytes())
    assert stored.size == SOURCE_SIZE
    return stored


@pytest.mark.parametrize("protocol", MODES)
def test_whole_file(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, protocol: str
) -> None:
    run = tus_js_client.upload(source_file, endpoint=shared_live_server.endpoint, protocol=protocol)
    assert run.ok, run.explain()
    assert_copy(shared_live_server, run.upload_url, source_file)
    assert [e.request_headers.get("upload-draft-interop-version") for e in run.exchanges] == [MODES[protocol]] * 2
    assert run.patches[-1].request_headers["upload-complete"] == "?1"


@pytest.mark.parametrize("protocol", MODES)
def test_chunks_then_abort_and_resume_by_url(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, protocol: str
) -> None:
    first = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, protocol=protocol, chunkSize=MiB // 2, abortAfterBytes=MiB
    )
    assert first.ok and first.aborted, first.explain()
    assert first.upload_url is not None
    kept = StoredUpload.load(shared_live_server.storage, first.upload_url).offset
    assert kept == MiB
    second = tus_js_client.upload(source_file, uploadUrl=first.upload_url, protocol=protocol, chunkSize=MiB // 2)
    assert second.ok, second.explain()
    assert second.exchanges[0].method == "HEAD"
    assert second.exchanges[0].response_headers["upload-offset"] == str(kept)
    stored = assert_copy(shared_live_server, second.upload_url, source_file)
    assert stored.info["TusdPy"]["protocol"] == f"ietf-draft-{MODES[protocol]}"


@pytest.mark.parametrize("protocol", MODES)
def test_upload_data_during_creation(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, protocol: str
) -> None:
    run = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, protocol=protocol, uploadDataDuringCreation=True
    )
    assert run.ok, run.explain()
    assert_copy(shared_live_server, run.upload_url, source_file)
    assert run.creations[0].response_headers["upload-offset"] == str(SOURCE_SIZE)
    assert run.patches == []


@pytest.mark.parametrize("protocol", MODES)
def test_resumes_an_upload_found_in_its_url_storage(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, protocol: str, tmp_path: Path
) -> None:
    storage = str(tmp_path / "urls.json")
    first = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        protocol=protocol,
        urlStorage=storage,
        chunkSize=MiB // 2,
        abortAfterBytes=MiB,
    )
    assert first.ok and first.aborted, first.explain()
    second = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, protocol=protocol, urlStorage=storage, chunkSize=MiB
    )
    assert second.ok, second.explain()
    assert second.resumed_from == first.upload_url
    assert second.upload_url == first.upload_url
    assert_copy(shared_live_server, second.upload_url, source_file)


@pytest.mark.parametrize("protocol", MODES)
def test_termination(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, protocol: str
) -> None:
    run = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        protocol=protocol,
        chunkSize=MiB // 2,
        terminateAfterBytes=MiB // 2,
    )
    assert run.ok and run.aborted, run.explain()
    deletes = [e for e in run.exchanges if e.method == "DELETE"]
    assert [e.status for e in deletes] == [204]
    assert run.upload_url is not None
    assert not StoredUpload.exists(shared_live_server.storage, run.upload_url)
