"""Large bodies stream to disk: the server's memory does not grow with the upload."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.live_server import LiveServer
from tests.support.tus import OFFSET_BODY, create, upload_id

CHUNK = 1024 * 1024


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def test_a_384_mib_patch_keeps_server_memory_flat(live_server: LiveServer) -> None:
    size = 384 * CHUNK
    block = bytes(range(256)) * (CHUNK // 256)
    expected = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for i in range(size // CHUNK):
            chunk = block[i % 256 :] + block[: i % 256]
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
