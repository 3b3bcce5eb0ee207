"""Fixtures for form upload tests: a live server with small form limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.events.conftest import http  # noqa: F401 (the shared HTTP client fixture)
from tests.support.live_server import LiveServer, start_live

FORM_OPTIONS = (
    "--max-size", "1MiB",
    "--form-max-parts", "10",
    "--form-max-field-size", "1KiB",
    "--progress-interval", "100ms",
    "--write-block-size", "64KiB",
)  # fmt: skip


@pytest.fixture(scope="session")
def form_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("form-server"), *FORM_OPTIONS)
    yield server
    server.stop()
