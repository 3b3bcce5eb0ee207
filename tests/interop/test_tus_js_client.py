"""tus-js-client 4 under node, uploading to a real server: each option a real app uses, checked on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.source_data import SOURCE_SIZE, MiB
from tests.interop.stored_upload import StoredUpload, sha256, upload_id_of
from tests.interop.tus_js_client import TusJsClient, UploadRun
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.stores("file", "s3")  # the same clients against both stores
FILE_METADATA = {"filename": "source.bin", "filetype": "application/octet-stream"}


def stored_upload_of(server: LiveServer, run: UploadRun) -> StoredUpload:
    assert run.ok, run.explain()
    assert run.upload_url is not None
    return StoredUpload.load(server.storage, run.upload_url)


def assert_is_copy_of(stored: StoredUpload, source: Path, metadata: dict[str, str]) -> None:
    content = source.read_bytes()
    assert stored.sha256 == sha256(content)
    assert stored.size == len(content)
    assert stored.metadata == metadata


def chunk_offsets(chunk_size: int, start: int = 0) -> list[str]:
    return [str(offset) for offset in range(start, SOURCE_SIZE, chunk_size)]


def test_whole_file_goes_in_one_patch(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(source_file, endpoint=shared_live_server.endpoint, metadata=FILE_METADATA)

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    assert [exchange.method for exchange in run.exchanges] == ["POST", "PATCH"]


def test_location_is_an_absolute_url_under_the_endpoint(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, tiny_file: Path
) -> None:
    run = tus_js_client.upload(tiny_file, endpoint=shared_live_server.endpoint)

    assert run.ok, run.explain()
    location = run.creations[0].response_headers["location"]
    assert location == run.upload_url
    assert location.startswith(shared_live_server.endpoint)
    assert upload_id_of(location)


def test_each_chunk_goes_in_its_own_patch(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(source_file, endpoint=shared_live_server.endpoint, chunkSize=MiB, metadata=FILE_METADATA)

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    offsets = chunk_offsets(MiB)
    assert [patch.request_headers["upload-offset"] for patch in run.patches] == offsets
    assert [patch.status for patch in run.patches] == [204] * len(offsets)
    assert [patch.response_headers["upload-offset"] for patch in run.patches] == [*offsets[1:], str(SOURCE_SIZE)]


def test_resumes_from_the_upload_url_after_an_abort(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    first = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        chunkSize=MiB // 2,
        abortAfterBytes=MiB,
        metadata=FILE_METADATA,
    )
    assert first.ok and first.aborted, first.explain()
    assert first.upload_url is not None
    kept = StoredUpload.load(shared_live_server.storage, first.upload_url).offset
    assert kept == first.bytes_uploaded == MiB

    # No endpoint: had the server lost the upload, the client could not quietly start a new one.
    second = tus_js_client.upload(source_file, uploadUrl=first.upload_url, chunkSize=MiB // 2)

    assert_is_copy_of(stored_upload_of(shared_live_server, second), source_file, FILE_METADATA)
    assert second.upload_url == first.upload_url
    assert second.exchanges[0].method == "HEAD"
    assert second.exchanges[0].response_headers["upload-offset"] == str(kept)
    assert second.patches[0].request_headers["upload-offset"] == str(kept)
    assert second.bytes_uploaded == SOURCE_SIZE - kept


def test_resumes_an_upload_found_in_its_url_storage(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path, tmp_path: Path
) -> None:
    url_storage = str(tmp_path / "tus-js-client-urls.json")
    first = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        urlStorage=url_storage,
        chunkSize=MiB // 2,
        abortAfterBytes=MiB,
        metadata=FILE_METADATA,
    )
    assert first.ok and first.aborted, first.explain()

    second = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        urlStorage=url_storage,
        chunkSize=MiB // 2,
        metadata=FILE_METADATA,
    )

    assert_is_copy_of(stored_upload_of(shared_live_server, second), source_file, FILE_METADATA)
    assert second.resumed_from == first.upload_url
    assert second.upload_url == first.upload_url
    assert second.creations == []
    assert second.patches[0].request_headers["upload-offset"] == str(first.bytes_uploaded)


def test_resumes_after_the_server_restarts(
    live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    first = tus_js_client.upload(
        source_file,
        endpoint=live_server.endpoint,
        chunkSize=MiB // 2,
        abortAfterBytes=MiB,
        metadata=FILE_METADATA,
    )
    assert first.ok and first.aborted, first.explain()

    live_server.restart()
    second = tus_js_client.upload(source_file, uploadUrl=first.upload_url, chunkSize=MiB // 2)

    assert_is_copy_of(stored_upload_of(live_server, second), source_file, FILE_METADATA)
    assert second.patches[0].request_headers["upload-offset"] == str(first.bytes_uploaded)


def test_first_chunk_rides_on_the_creation_request(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        uploadDataDuringCreation=True,
        chunkSize=MiB,
        metadata=FILE_METADATA,
    )

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    creation = run.creations[0]
    assert creation.request_headers["content-type"] == "application/offset+octet-stream"
    assert creation.status == 201
    assert creation.response_headers["upload-offset"] == str(MiB)
    assert [patch.request_headers["upload-offset"] for patch in run.patches] == chunk_offsets(MiB, start=MiB)


def test_whole_file_rides_on_the_creation_request(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, uploadDataDuringCreation=True, metadata=FILE_METADATA
    )

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    assert run.creations[0].response_headers["upload-offset"] == str(SOURCE_SIZE)
    assert run.patches == []


def test_deferred_length_is_declared_with_the_last_chunk(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        uploadLengthDeferred=True,
        chunkSize=MiB,
        # From a file stream, tus-js-client 4.3 never learns where the file ends while the length is
        # deferred: past the end it announces a whole chunk, sends nothing and hangs. A buffer works.
        input="buffer",
        metadata=FILE_METADATA,
    )

    stored = stored_upload_of(shared_live_server, run)
    assert_is_copy_of(stored, source_file, FILE_METADATA)
    assert stored.info["SizeIsDeferred"] is False
    creation = run.creations[0]
    assert creation.request_headers["upload-defer-length"] == "1"
    assert "upload-length" not in creation.request_headers
    declared = [patch.request_headers.get("upload-length") for patch in run.patches]
    assert declared == [None] * (len(declared) - 1) + [str(SOURCE_SIZE)]


def test_parallel_parts_are_concatenated_in_order(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, parallelUploads=3, metadata=FILE_METADATA
    )

    final = stored_upload_of(shared_live_server, run)
    assert_is_copy_of(final, source_file, FILE_METADATA)
    assert final.info["IsFinal"] is True
    # The parts are created concurrently; the final request is what names them in order.
    concat = next(exchange for exchange in run.creations if exchange.creates_final_upload)
    part_urls = concat.request_headers["upload-concat"].removeprefix("final;").split(" ")
    assert len(part_urls) == 3
    assert final.info["PartialUploads"] == [upload_id_of(url) for url in part_urls]
    parts = [StoredUpload.load(shared_live_server.storage, url) for url in part_urls]
    assert [part.info["IsPartial"] for part in parts] == [True, True, True]
    assert b"".join(part.data for part in parts) == source_file.read_bytes()


def test_parallel_upload_of_a_tiny_file_survives_empty_parts(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, tiny_file: Path
) -> None:
    run = tus_js_client.upload(
        tiny_file,
        endpoint=shared_live_server.endpoint,
        parallelUploads=3,
        # From a file stream tus-js-client 4.3 cannot even open an empty part (fs end -1).
        input="buffer",
        metadata={"filename": "tiny.bin"},
    )

    final = stored_upload_of(shared_live_server, run)
    assert_is_copy_of(final, tiny_file, {"filename": "tiny.bin"})
    parts = [exchange for exchange in run.creations if exchange.creates_partial_upload]
    part_lengths = [part.request_headers["upload-length"] for part in parts]
    assert sorted(part_lengths) == ["0", "0", "2"]


def test_patch_sent_as_post_with_a_method_override_appends(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file,
        endpoint=shared_live_server.endpoint,
        overridePatchMethod=True,
        chunkSize=MiB,
        metadata=FILE_METADATA,
    )

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    assert len(run.patches) == len(chunk_offsets(MiB))
    assert {(patch.method, patch.status) for patch in run.patches} == {("POST", 204)}


def test_request_ids_on_every_request_do_not_disturb_the_upload(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, source_file: Path
) -> None:
    run = tus_js_client.upload(
        source_file, endpoint=shared_live_server.endpoint, addRequestId=True, chunkSize=MiB, metadata=FILE_METADATA
    )

    assert_is_copy_of(stored_upload_of(shared_live_server, run), source_file, FILE_METADATA)
    request_ids = [exchange.request_headers.get("x-request-id") for exchange in run.exchanges]
    assert None not in request_ids
    assert len(set(request_ids)) == len(request_ids)


def test_every_metadata_pair_is_stored_decoded(
    shared_live_server: LiveServer, tus_js_client: TusJsClient, tiny_file: Path
) -> None:
    # What Uppy sends: every meta key, `name`/`type` doubled as `filename`/`filetype`, "null" as a string.
    metadata = {
        "name": "résumé ✓.bin",
        "type": "application/octet-stream",
        "filename": "résumé ✓.bin",
        "filetype": "application/octet-stream",
        "relativePath": "null",
        "empty": "",
    }

    run = tus_js_client.upload(tiny_file, endpoint=shared_live_server.endpoint, metadata=metadata)

    assert_is_copy_of(stored_upload_of(shared_live_server, run), tiny_file, metadata)
