"""A full disk under `tusd-py serve` (uvicorn, not in-process): a PATCH whose bytes cannot be stored is one warning
line and an access line with its 507, never a traceback logged by the server."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.support.live_server import LiveServer
from tests.support.small_disk import SmallDisk
from tests.support.tus import TUS


def test_a_patch_refused_for_a_full_disk_logs_one_line_and_its_status(small_disk: SmallDisk, tmp_path: Path) -> None:
    uploads = small_disk.path / "uploads"
    uploads.mkdir()
    server = LiveServer(uploads, tmp_path / "server.log", "--socket-bodies", "false")
    server.start()
    try:
        created = httpx.post(server.endpoint, headers={**TUS, "Upload-Length": str(4 * 2**20)})
        url = created.headers["location"]
        small_disk.fill()
        small_disk.free(64 * 1024)
        headers = {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        answer = httpx.patch(url, headers=headers, content=os.urandom(4 * 2**20), timeout=30)
        assert answer.status_code == 507
        assert answer.json()["error_code"] == "insufficient_storage"
    finally:
        server.stop()
    log = server.log()
    assert "Traceback" not in log
    patches = [line for line in log.splitlines() if "tusd_py.access" in line and "PATCH" in line]
    assert len(patches) == 1 and patches[0].endswith(" 507"), patches
