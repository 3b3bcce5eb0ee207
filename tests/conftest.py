"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.small_disk import SmallDisk


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server process with its own upload directory, for one test."""
    server = LiveServer(tmp_path / "uploads", tmp_path / "server.log")
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for tests that only create their own uploads and never stop it."""
    root = tmp_path_factory.mktemp("shared-server")
    server = LiveServer(root / "uploads", root / "server.log")
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for one test, on a free port."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 1 MiB file system of the test's own, to fill with ballast for real ENOSPC faults."""
    disk = SmallDisk(tmp_path / "small-disk", 1024 * 1024)
    disk.mount()
    yield disk
    disk.unmount()
