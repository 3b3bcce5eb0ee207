"""Fixtures for the event tests: a live server with a short progress interval, an HTTP client, real tus clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.interop.tus_js_client import INSTALLED_CLIENT, TusJsClient
from tests.support.live_server import LiveServer
from tests.support.live_server import start_live as start_server  # noqa: F401 (the event tests import it from here)
from tests.support.programs import require_path, require_program
from tests.support.s3_server import start_on_store

# Short enough for fast tests, long enough to see throttling between events on loopback.
PROGRESS_INTERVAL = 0.1
# Small write blocks: storage reports progress every 64 KiB, far more often than events may go out.
WRITE_BLOCK = "64KiB"


@pytest.fixture(scope="session")
def events_server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """One server (per store) for every event test that only watches its own uploads (and batches with unique
    names)."""
    root = tmp_path_factory.mktemp(f"events-server-{store_kind}")
    server = start_on_store(
        store_kind, request, root, "--progress-interval", "100ms", "--write-block-size", WRITE_BLOCK
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
