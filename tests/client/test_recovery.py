"""The uploader rides out busy servers, refused chunks and dropped connections, and gives up when it must."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.client.conftest import MiB, RecordingListener, make_file
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.fault_proxy import FaultProxy
from tests.support.live_server import LiveServer, free_port
from tests.support.tcp_proxy import TcpProxy
from tusd_py.client.errors import RetriesExhausted, UploadRejected
from tusd_py.client.retry import RetryPolicy
from tusd_py.client.uploader import Uploader, UploadOptions

QUICK = RetryPolicy(retries=4, base_delay=0.05, max_delay=0.2)


@pytest.mark.parametrize("status", [409, 503])
async def test_a_patch_with_an_uncertain_outcome_is_retried_after_asking_the_server_for_its_offset(
    shared_live_server: LiveServer, tmp_path: Path, listener: RecordingListener, status: int
) -> None:
    source = make_file(tmp_path, "retried.bin", 600 * 1024)
    with FaultProxy(shared_live_server.base_url) as proxy:
        proxy.inject("PATCH", status, nth=2)
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), chunk_size=256 * 1024, retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    assert result.ok
    assert proxy.methods() == ["OPTIONS 200", "POST 201", "PATCH 204", f"PATCH {status}", "HEAD 200", "PATCH 204",
                               "PATCH 204"]  # fmt: skip
    assert [status for status, _, _ in listener.retries] == [status]
    assert result.url is not None
    assert StoredUpload.load(shared_live_server.upload_dir, result.url).sha256 == sha256(source.read_bytes())


@pytest.mark.parametrize("status", [423, 460])
async def test_a_patch_that_changed_nothing_is_retried_at_once_from_the_same_offset(
    shared_live_server: LiveServer, tmp_path: Path, listener: RecordingListener, status: int
) -> None:
    source = make_file(tmp_path, "again.bin", 600 * 1024)
    with FaultProxy(shared_live_server.base_url) as proxy:
        proxy.inject("PATCH", status, nth=2)
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), chunk_size=256 * 1024, retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    assert result.ok
    assert proxy.methods() == ["OPTIONS 200", "POST 201", "PATCH 204", f"PATCH {status}", "PATCH 204", "PATCH 204"]
    patches = [seen for seen in proxy.seen if seen.method == "PATCH"]
    assert patches[1].headers["upload-offset"] == patches[2].headers["upload-offset"] == str(256 * 1024)
    assert [status for status, _, _ in listener.retries] == [status]


async def test_retry_after_sets_the_wait(
    shared_live_server: LiveServer, tmp_path: Path, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "later.bin", 1000)
    with FaultProxy(shared_live_server.base_url) as proxy:
        proxy.inject("PATCH", 503, Retry_After="1")
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    assert result.ok
    assert [(status, wait) for status, wait, _ in listener.retries] == [(503, 1.0)]


async def test_a_rate_limited_client_waits_as_told_and_finishes(tmp_path: Path, listener: RecordingListener) -> None:
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log", "--rate-limit", "1", "--rate-burst", "2")
    server.upload_dir.mkdir()
    server.start()
    try:
        source = make_file(tmp_path, "two-chunks.bin", 2048)  # POST and PATCH pass, the second PATCH waits
        options = UploadOptions(server.endpoint, chunk_size=1024, retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    finally:
        server.stop()
    assert result.ok and result.url is not None
    too_many = [(status, wait) for status, wait, _ in listener.retries if status == 429]
    assert too_many and all(wait >= 1.0 for _, wait in too_many)  # Retry-After, not the 0.05 s back-off
    assert StoredUpload.load(server.upload_dir, result.url).sha256 == sha256(source.read_bytes())


async def test_a_connection_dropped_mid_patch_resumes_from_what_the_server_kept(
    shared_live_server: LiveServer, tmp_path: Path, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "dropped.bin", 3 * MiB)
    with TcpProxy(shared_live_server.port) as proxy:
        proxy.cut_after(MiB + MiB // 2)  # half-way through the second PATCH
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), chunk_size=MiB, retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    assert proxy.cuts == 1
    assert result.ok and len(listener.retries) == 1 and listener.retries[0][0] is None  # a network error
    # After the drop the uploader asked for the offset: it resent only what the server had not kept.
    assert result.bytes_sent < 3 * MiB + MiB
    assert result.url is not None
    assert StoredUpload.load(shared_live_server.upload_dir, result.url).sha256 == sha256(source.read_bytes())


async def test_an_unreachable_server_ends_in_retries_exhausted(tmp_path: Path, listener: RecordingListener) -> None:
    source = make_file(tmp_path, "nowhere.bin", 10)
    options = UploadOptions(f"http://127.0.0.1:{free_port()}/files/", retry=RetryPolicy(retries=2, base_delay=0.01))
    async with Uploader(options, listener=listener) as uploader:
        result = await uploader.upload(source)
    assert result.status == "failed" and isinstance(result.error, RetriesExhausted)
    assert result.error.exit_code == 3 and "gave up after 3 attempts" in result.error.message
    assert len(listener.retries) == 2


async def test_a_refusal_is_not_retried(
    shared_live_server: LiveServer, tmp_path: Path, listener: RecordingListener
) -> None:
    source = make_file(tmp_path, "refused.bin", 10)
    with FaultProxy(shared_live_server.base_url) as proxy:
        proxy.inject("POST", 403)
        options = UploadOptions(proxy.url_for(shared_live_server.endpoint), retry=QUICK)
        async with Uploader(options, listener=listener) as uploader:
            result = await uploader.upload(source)
    assert isinstance(result.error, UploadRejected) and result.error.status == 403
    assert result.error.exit_code == 1 and listener.retries == []
    assert proxy.methods() == ["OPTIONS 200", "POST 403"]
