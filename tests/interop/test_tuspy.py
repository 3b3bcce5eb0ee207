"""tuspy (tus-py-client) uploading to a real server, checked on disk and in what went over the wire."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from tusclient import client
from tusclient.exceptions import TusUploadFailed
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader
from tusclient.uploader.baseuploader import BaseUploader

from tests.interop.exchanges import Exchange
from tests.interop.source_data import SOURCE_SIZE, MiB
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.stores("file", "s3")  # the same clients against both stores
FILE_METADATA = {"filename": "source.bin", "filetype": "application/octet-stream"}


@pytest.fixture
def exchanges(monkeypatch: pytest.MonkeyPatch) -> list[Exchange]:
    """Every request tuspy sends through `requests` (all but its aiohttp uploader), with the response."""
    recorded: list[Exchange] = []
    send = requests.Session.send

    def recording_send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        method, url = request.method or "", request.url or ""
        try:
            response = send(session, request, **kwargs)
        except requests.RequestException:
            recorded.append(Exchange.of(method, url, request.headers, None))
            raise
        exchange = Exchange.of(method, url, request.headers, response.status_code, response.headers, response.text)
        recorded.append(exchange)
        print(f"{exchange.describe()}\n")  # shown by pytest only when the test fails
        return response

    monkeypatch.setattr(requests.Session, "send", recording_send)
    return recorded


@pytest.fixture
def tus(shared_live_server: LiveServer) -> client.TusClient:
    return client.TusClient(shared_live_server.endpoint)


@pytest.fixture
def url_storage(tmp_path: Path) -> Iterator[FileStorage]:
    storage = FileStorage(str(tmp_path / "tuspy-urls.json"))
    yield storage
    storage.close()


def stored_upload_of(server: LiveServer, uploader: BaseUploader) -> StoredUpload:
    assert uploader.url is not None
    return StoredUpload.load(server.storage, uploader.url)


def assert_is_copy_of(stored: StoredUpload, source: Path, metadata: dict[str, str]) -> None:
    content = source.read_bytes()
    assert stored.sha256 == sha256(content)
    assert stored.size == len(content)
    assert stored.metadata == metadata


def patches(exchanges: list[Exchange]) -> list[Exchange]:
    return [exchange for exchange in exchanges if exchange.method == "PATCH"]


def test_whole_file_goes_in_one_patch(
    shared_live_server: LiveServer, tus: client.TusClient, source_file: Path, exchanges: list[Exchange]
) -> None:
    uploader = tus.uploader(file_path=str(source_file), metadata=FILE_METADATA)

    uploader.upload()

    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), source_file, FILE_METADATA)
    assert [(exchange.method, exchange.status) for exchange in exchanges] == [("POST", 201), ("PATCH", 204)]


def test_empty_metadata_header_stores_no_metadata(
    shared_live_server: LiveServer, tus: client.TusClient, tiny_file: Path, exchanges: list[Exchange]
) -> None:
    uploader = tus.uploader(file_path=str(tiny_file))

    uploader.upload()

    assert exchanges[0].request_headers["upload-metadata"] == ""
    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), tiny_file, {})


def test_metadata_is_stored_decoded(shared_live_server: LiveServer, tus: client.TusClient, tiny_file: Path) -> None:
    metadata = {"filename": "résumé ✓.bin", "filetype": "application/octet-stream", "relativePath": "null"}
    uploader = tus.uploader(file_path=str(tiny_file), metadata=metadata)

    uploader.upload()

    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), tiny_file, metadata)


def test_each_chunk_goes_in_its_own_patch(
    shared_live_server: LiveServer, tus: client.TusClient, source_file: Path, exchanges: list[Exchange]
) -> None:
    uploader = tus.uploader(file_path=str(source_file), chunk_size=MiB, metadata=FILE_METADATA)

    uploader.upload()

    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), source_file, FILE_METADATA)
    offsets = [str(offset) for offset in range(0, SOURCE_SIZE, MiB)]
    sent = patches(exchanges)
    assert [patch.request_headers["upload-offset"] for patch in sent] == offsets
    assert [patch.response_headers["upload-offset"] for patch in sent] == [*offsets[1:], str(SOURCE_SIZE)]


def test_sha1_checksum_sent_with_every_chunk_is_accepted(
    shared_live_server: LiveServer, tus: client.TusClient, source_file: Path, exchanges: list[Exchange]
) -> None:
    uploader = tus.uploader(file_path=str(source_file), chunk_size=MiB, upload_checksum=True, metadata=FILE_METADATA)

    uploader.upload()

    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), source_file, FILE_METADATA)
    sent = patches(exchanges)
    assert len(sent) == len(range(0, SOURCE_SIZE, MiB))
    assert all(patch.request_headers["upload-checksum"].startswith("sha1 ") for patch in sent)
    assert {patch.status for patch in sent} == {204}


class WrongChecksumUploader(Uploader):
    """Sends a sha1 of something other than the chunk: what a corrupted transfer looks like to the server."""

    CHECKSUM_ALGORITHM_PAIR = ("sha1", lambda chunk: hashlib.sha1(chunk + b"corrupted"))


def test_chunk_with_a_wrong_checksum_is_refused_and_not_stored(
    shared_live_server: LiveServer, tus: client.TusClient, source_file: Path
) -> None:
    uploader = WrongChecksumUploader(file_path=str(source_file), client=tus, chunk_size=MiB, upload_checksum=True)

    with pytest.raises(TusUploadFailed) as refused:
        uploader.upload()

    assert refused.value.status_code == 460
    assert stored_upload_of(shared_live_server, uploader).offset == 0


def test_resumes_a_stopped_upload_from_its_url_storage(
    shared_live_server: LiveServer,
    tus: client.TusClient,
    source_file: Path,
    url_storage: FileStorage,
    exchanges: list[Exchange],
) -> None:
    first = tus.uploader(
        file_path=str(source_file),
        chunk_size=MiB // 2,
        store_url=True,
        url_storage=url_storage,
        metadata=FILE_METADATA,
    )
    first.upload(stop_at=MiB)
    assert stored_upload_of(shared_live_server, first).offset == MiB
    exchanges.clear()

    second = tus.uploader(
        file_path=str(source_file),
        chunk_size=MiB // 2,
        store_url=True,
        url_storage=url_storage,
        metadata=FILE_METADATA,
    )
    second.upload()

    assert second.url == first.url
    assert_is_copy_of(stored_upload_of(shared_live_server, second), source_file, FILE_METADATA)
    assert [exchange.method for exchange in exchanges if exchange.method != "PATCH"] == ["HEAD"]
    assert patches(exchanges)[0].request_headers["upload-offset"] == str(MiB)


async def test_async_uploader_uploads_in_chunks(
    shared_live_server: LiveServer, tus: client.TusClient, source_file: Path
) -> None:
    uploader = tus.async_uploader(file_path=str(source_file), chunk_size=MiB, metadata=FILE_METADATA)

    await uploader.upload()

    assert_is_copy_of(stored_upload_of(shared_live_server, uploader), source_file, FILE_METADATA)
