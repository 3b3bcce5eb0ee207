"""Fixtures for the event tests: a live server with a short progress interval, an HTTP client, real tus clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.interop.tus_js_client import INSTALLED_CLIENT, TusJsClient
from tests.support.live_server import LiveServer
from tests.support.live_server import start_live as start_server
from tests.support.programs import require_path, require_program

# Short enough for fast tests, long enough to see throttling between events on loopback.
PROGRESS_INTERVAL = 0.1
# Small write blocks: storage reports progress every 64 KiB, far more often than events may go out.
WRITE_BLOCK = "64KiB"


@pytest.fixture(scope="session")
def events_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for every event test that only watches its own uploads (and batches with unique names)."""
    server = start_server(
        tmp_path_factory.mktemp("events-server"), "--progress-interval", "100ms", "--write-block-size", WRITE_BLOCK
    )
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def tus_js_client() -> TusJsClient:
    node = require_program("node", "tus-js-client runs under node for the end-to-end event tests")
    require_path(INSTALLED_CLIENT, "install it with `npm ci --prefix tests/interop/node` (make test does)")
    return TusJsClient(node)
