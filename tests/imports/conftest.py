"""Fixtures for import tests: real HTTP sources on loopback, and a server allowed to reach them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.events.conftest import http  # noqa: F401 (the shared HTTP client fixture)
from tests.imports.sources import SourceServer
from tests.support.live_server import LiveServer, start_live

IMPORT_OPTIONS = (
    "--import-allow", "127.0.0.1",
    "--import-read-timeout", "1s",
    "--import-retries", "2",
    "--max-size", "2MiB",
    "--progress-interval", "100ms",
    "--write-block-size", "64KiB",
)  # fmt: skip


@pytest.fixture(scope="session")
def source() -> Iterator[SourceServer]:
    with SourceServer() as server:
        yield server


@pytest.fixture(scope="session")
def import_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("import-server"), *IMPORT_OPTIONS)
    yield server
    server.stop()
