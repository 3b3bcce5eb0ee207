"""Live-server helpers for the upload lifecycle tests: servers with their own flags, raw PATCHes, stored files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.tus import OFFSET_BODY, TUS, upload_id

# One client for every request of these tests: `httpx.get()` and friends build a client, TLS context included,
# per call (tens of ms each), which would eat most of the time these tests are allowed.
http = httpx.Client(timeout=30)


def create(endpoint: str, length: int, **headers: str) -> str:
    response = http.post(endpoint, headers={**TUS, "Upload-Length": str(length), **headers})
    assert response.status_code == 201, response.text
    return response.headers["location"]


def patch(url: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return http.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset), **headers})


def offset_of(url: str) -> int:
    response = http.head(url, headers=TUS)
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


@contextmanager
def running(root: Path, *args: str) -> Iterator[LiveServer]:
    """A real server with its own upload directory under `root`, stopped (SIGTERM) afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    server = LiveServer(root / "uploads", root / "server.log", *args)
    server.upload_dir.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def start_patch(server: LiveServer, url: str, offset: int, length: int, **headers: str) -> RawRequest:
    """A PATCH announcing `length` body bytes, none of them sent yet."""
    path = url.split(str(server.port), 1)[1]
    headers = {**OFFSET_BODY, "Upload-Offset": str(offset), "Content-Length": str(length), **headers}
    return RawRequest(server.port, "PATCH", path, headers)


def stored_size(server: LiveServer, url: str) -> int:
    path = server.upload_dir / upload_id(url)
    return path.stat().st_size if path.exists() else -1


def files_of(server: LiveServer, url: str) -> list[str]:
    """Every file in the upload directory that belongs to the upload, tombstones excepted."""
    uid = upload_id(url)
    return sorted(p.name for p in server.upload_dir.iterdir() if uid in p.name and not p.name.endswith(".gone"))
