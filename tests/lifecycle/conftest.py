"""Servers shared by the lifecycle tests: one where everything unfinished expires almost at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lifecycle.live import running
from tests.support.live_server import LiveServer


@pytest.fixture(scope="package")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Unfinished uploads expire half a second after their last byte, swept every 50 ms; tombstones last 1 s;
    finished uploads are kept for good."""
    args = ("--expire-after", "500ms", "--sweep-interval", "50ms", "--tombstone-ttl", "1s")
    with running(tmp_path_factory.mktemp("short-lived"), *args) as server:
        yield server
