"""Fixtures for the client library's tests: files to send, a store, and a listener that keeps what it is told."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import eventually
from tusd_py.client.errors import TransientError
from tusd_py.client.uploader import Uploader, UploadListener, UploadOptions, UploadResult
from tusd_py.client.url_store import URLStore

MiB = 2**20


def make_file(directory: Path, name: str, size: int, seed: int = 7) -> Path:
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


@pytest.fixture
def store(tmp_path: Path) -> URLStore:
    return URLStore(tmp_path / "store" / "uploads.json")


class RecordingListener(UploadListener):
    """Keeps every call, for tests that check what the uploader reported."""

    def __init__(self) -> None:
        self.started_with: list[tuple[int, str, bool]] = []
        self.positions: list[int] = []
        self.retries: list[tuple[int | None, float, str]] = []
        self.notices: list[str] = []
        self.results: list[UploadResult] = []

    def started(self, path: Path, size: int, position: int, url: str, resumed: bool) -> None:
        self.started_with.append((position, url, resumed))

    def advanced(self, path: Path, position: int) -> None:
        self.positions.append(position)

    def retrying(self, path: Path | None, error: TransientError, wait: float) -> None:
        self.retries.append((error.status, wait, error.message))

    def notice(self, path: Path, message: str) -> None:
        self.notices.append(message)

    def finished(self, result: UploadResult) -> None:
        self.results.append(result)


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


async def server_offset(url: str) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.head(url, headers={"Tus-Resumable": "1.0.0"})
    return int(response.headers["upload-offset"])


def stored_bytes(upload_dir: Path, url: str) -> int:
    """The size of the upload's data file: its offset, read without a HEAD (which would end the PATCH in flight)."""
    path = upload_dir / url.rstrip("/").rsplit("/", 1)[-1]
    return path.stat().st_size if path.exists() else 0


async def interrupted_upload(
    options: UploadOptions, store: URLStore, source: Path, upload_dir: Path
) -> tuple[str, int]:
    """Start uploading `source` slowly, cancel it once the server holds some of it: a run that died midway.
    Returns the recorded upload URL and the server's offset after the cancellation."""
    slow = replace(options, chunk_size=128 * 1024, rate_limit=1024 * 1024)
    async with Uploader(slow, store=store) as uploader:
        running = asyncio.ensure_future(uploader.upload(source))
        await eventually(lambda: asyncio.sleep(0, bool(store.entries())))
        url = store.entries()[0].urls[0]

        async def some_bytes_arrived() -> bool:
            return stored_bytes(upload_dir, url) > 0

        await eventually(some_bytes_arrived)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    return url, await server_offset(url)
