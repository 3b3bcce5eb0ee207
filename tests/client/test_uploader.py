"""The uploader against a real tusd_py server: whole files, chunks, parallel parts, checksums, metadata, resuming."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx

from tests.client.conftest import MiB, RecordingListener, interrupted_upload, make_file
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support import tus
from tests.support.fault_proxy import FaultProxy
from tests.support.live_server import LiveServer
from tusd_py.client.errors import UploadRejected
from tusd_py.client.uploader import Uploader, UploadOptions
from tusd_py.client.url_store import URLStore


async def test_a_file_is_stored_byte_for_byte_in_chunks(
    shared_live_server: LiveServer, tmp_path: Path, store: URLStore, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "photo.jpg", 3 * MiB + 123)
    options = UploadOptions(shared_live_server.endpoint, chunk_size=MiB)
    async with Uploader(options, store=store, listener=listener) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url is not None
    stored = StoredUpload.load(shared_live_server.upload_dir, result.url)
    assert stored.sha256 == sha256(source.read_bytes())
    assert stored.metadata == {"filename": "photo.jpg", "filetype": "image/jpeg"}
    assert (result.resumed_from, result.bytes_sent, result.parts) == (0, source.stat().st_size, 1)
    assert listener.positions[-1] == source.stat().st_size
    assert store.entries() == []  # a finished upload is forgotten


async def test_an_empty_file_is_a_complete_empty_upload(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = make_file(tmp_path, "empty.txt", 0)
    async with Uploader(UploadOptions(shared_live_server.endpoint)) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url is not None
    stored = StoredUpload.load(shared_live_server.upload_dir, result.url)
    assert stored.size == 0 and stored.data == b""


async def test_user_metadata_joins_and_overrides_the_defaults(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = make_file(tmp_path, "report.pdf", 1000)
    options = UploadOptions(shared_live_server.endpoint, metadata={"filetype": "application/x-custom", "owner": "é"})
    async with Uploader(options) as uploader:
        result = await uploader.upload(source, {"batch": "q3", "batch_total": "1"})
    assert result.url is not None
    assert StoredUpload.load(shared_live_server.upload_dir, result.url).metadata == {
        "filename": "report.pdf",
        "filetype": "application/x-custom",
        "owner": "é",
        "batch": "q3",
        "batch_total": "1",
    }


async def test_parallel_parts_become_one_final_concatenated_upload(
    shared_live_server: LiveServer, tmp_path: Path, store: URLStore
) -> None:
    source = make_file(tmp_path, "big.bin", 2 * MiB + 1)
    options = UploadOptions(shared_live_server.endpoint, parallel=3, chunk_size=512 * 1024)
    async with Uploader(options, store=store) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url is not None and result.parts == 3
    final = StoredUpload.load(shared_live_server.upload_dir, result.url)
    assert final.info["IsFinal"] is True and len(final.info["PartialUploads"]) == 3
    assert final.sha256 == sha256(source.read_bytes())
    assert final.metadata["filename"] == "big.bin"
    partial_sizes = [StoredUpload.load(shared_live_server.upload_dir, p).size for p in final.info["PartialUploads"]]
    assert partial_sizes == [699051, 699051, 699051]
    assert store.entries() == []


async def test_every_chunk_carries_its_sha1_checksum(shared_live_server: LiveServer, tmp_path: Path) -> None:
    source = make_file(tmp_path, "checked.bin", 700 * 1024)
    content = source.read_bytes()
    with FaultProxy(shared_live_server.base_url) as proxy:
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), chunk_size=256 * 1024, checksum="sha1")
        async with Uploader(options) as uploader:
            result = await uploader.upload(source)
    assert result.ok
    patches = [seen for seen in proxy.seen if seen.method == "PATCH"]
    assert [(p.status, p.body_size) for p in patches] == [(204, 262144), (204, 262144), (204, 192512)]
    for index, seen in enumerate(patches):
        chunk = content[index * 262144 : (index + 1) * 262144]
        expected = base64.b64encode(hashlib.sha1(chunk).digest()).decode()
        assert seen.headers["upload-checksum"] == f"sha1 {expected}"
    assert result.url is not None
    assert StoredUpload.load(shared_live_server.upload_dir, result.url).sha256 == sha256(content)


async def test_a_recorded_upload_resumes_from_the_servers_offset(
    shared_live_server: LiveServer, tmp_path: Path, store: URLStore, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "half.bin", 2 * MiB)
    options = UploadOptions(shared_live_server.endpoint, chunk_size=MiB)
    url, offset = await interrupted_upload(options, store, source, shared_live_server.upload_dir)
    assert 0 < offset < 2 * MiB
    async with Uploader(options, store=store, listener=listener) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url == url
    assert (result.resumed_from, result.bytes_sent) == (offset, 2 * MiB - offset)
    assert listener.started_with == [(offset, url, True)]
    assert StoredUpload.load(shared_live_server.upload_dir, url).sha256 == sha256(source.read_bytes())


async def test_a_recorded_upload_the_server_no_longer_has_starts_again(
    shared_live_server: LiveServer, tmp_path: Path, store: URLStore, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "gone.bin", MiB)
    options = UploadOptions(shared_live_server.endpoint)
    url, _ = await interrupted_upload(options, store, source, shared_live_server.upload_dir)
    assert httpx.delete(url, headers=tus.TUS).status_code == 204
    async with Uploader(options, store=store, listener=listener) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url != url and result.resumed_from == 0
    assert any("cannot resume the recorded upload" in notice for notice in listener.notices)


async def test_a_changed_file_is_a_new_upload(shared_live_server: LiveServer, tmp_path: Path, store: URLStore) -> None:
    source = make_file(tmp_path, "edited.txt", MiB)
    options = UploadOptions(shared_live_server.endpoint)
    url, _ = await interrupted_upload(options, store, source, shared_live_server.upload_dir)
    source.write_bytes(b"a different text")
    async with Uploader(options, store=store) as uploader:
        result = await uploader.upload(source)
    assert result.ok and result.url not in (None, url)
    assert result.url is not None
    assert StoredUpload.load(shared_live_server.upload_dir, result.url).data == b"a different text"
    assert store.entries() == []  # the stale record of the old version went with the new one


async def test_a_file_over_the_servers_max_size_is_refused_without_creating(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", "--max-size", "1000")
    server.upload_dir.mkdir()
    server.start()
    try:
        source = make_file(tmp_path, "large.bin", 1001)
        async with Uploader(UploadOptions(server.endpoint)) as uploader:
            result = await uploader.upload(source)
    finally:
        server.stop()
    assert result.status == "failed" and isinstance(result.error, UploadRejected)
    assert "Tus-Max-Size: 1000" in result.error.message
    assert not list(server.upload_dir.glob("*.info"))
