"""Large bodies stream to disk: the server's memory does not grow with the upload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.interop.stored_upload import StoredUpload
from tests.support.live_server import LiveServer
from tests.support.s3_server import S3LiveServer
from tests.support.seaweedfs import SeaweedFS
from tests.support.tus import OFFSET_BODY, create, patch, upload_id

CHUNK = 1024 * 1024


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def pattern(size: int) -> Iterator[bytes]:
    """`size` bytes (a whole number of MiB) in 1 MiB chunks, each a different rotation of one block."""
    block = bytes(range(256)) * (CHUNK // 256)
    for i in range(size // CHUNK):
        yield block[i % 256 :] + block[: i % 256]


def test_a_384_mib_patch_keeps_server_memory_flat(live_server: LiveServer) -> None:
    size = 384 * CHUNK
    expected = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for chunk in pattern(size):
            expected.update(chunk)
            yield chunk

    assert live_server.process is not None
    url = create(live_server.endpoint, size)
    httpx.head(url, headers={"Tus-Resumable": "1.0.0"})  # warm up every code path before the baseline
    before = peak_rss_kib(live_server.process.pid)
    response = httpx.patch(url, content=body(), headers={**OFFSET_BODY, "Upload-Offset": "0"}, timeout=120)
    after = peak_rss_kib(live_server.process.pid)

    assert response.status_code == 204
    assert response.headers["upload-offset"] == str(size)
    stored = hashlib.sha256()
    with open(live_server.upload_dir / upload_id(url), "rb") as f:
        while chunk := f.read(8 * CHUNK):
            stored.update(chunk)
    assert stored.hexdigest() == expected.hexdigest()
    growth_mib = (after - before) / 1024
    assert growth_mib < 40, f"peak RSS grew by {growth_mib:.1f} MiB during a {size // CHUNK} MiB upload"


def test_a_256_mib_patch_to_s3_keeps_server_memory_bounded(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    """Parts upload while the body arrives: memory holds a few parts (5 MiB, 2 at once, one filling), never the body."""
    size = 256 * CHUNK
    server = S3LiveServer(tmp_path, seaweedfs, "--s3-part-size", "5MiB", "--s3-concurrent-part-uploads", "2")
    server.start()
    try:
        assert server.process is not None
        warm_up = create(server.endpoint, 6 * CHUNK)  # one part and a completion: every S3 call on its way once
        assert patch(warm_up, 0, bytes(6 * CHUNK)).status_code == 204
        url = create(server.endpoint, size)
        before = peak_rss_kib(server.process.pid)
        response = httpx.patch(url, content=pattern(size), headers={**OFFSET_BODY, "Upload-Offset": "0"}, timeout=120)
        after = peak_rss_kib(server.process.pid)
    finally:
        server.stop()

    assert response.status_code == 204, response.text
    expected = hashlib.sha256()
    for chunk in pattern(size):
        expected.update(chunk)
    assert StoredUpload.load(server.storage, url).sha256 == expected.hexdigest()
    growth_mib = (after - before) / 1024
    assert growth_mib < 64, f"peak RSS grew by {growth_mib:.1f} MiB during a {size // CHUNK} MiB upload to S3"
