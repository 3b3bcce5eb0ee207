"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer
from tests.support.seaweedfs import SeaweedFS, start_seaweedfs
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


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One real SeaweedFS S3 server for the session; tests take a fresh bucket each (`s3_bucket`), never stop it."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(seaweedfs: SeaweedFS) -> str:
    """A new empty bucket on the session's SeaweedFS."""
    return seaweedfs.create_bucket()


@pytest.fixture
def own_seaweedfs(tmp_path: Path) -> Iterator[SeaweedFS]:
    """A SeaweedFS of the test's own, which it may stop and start (fault tests)."""
    server = start_seaweedfs(tmp_path / "seaweedfs")
    yield server
    server.stop()
