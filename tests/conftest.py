"""Fixtures shared by the whole suite.

Stores: a module or test marked `@pytest.mark.stores("file", "s3")` runs once per store. Its servers
(`live_server`, `shared_live_server`, and the areas' own server fixtures that ask for `store_kind`) and its
in-process apps (`store_fields`) then keep their uploads in the file store or in the session's SeaweedFS.
Unmarked tests run on the file store alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.stored_upload import S3Bucket
from tests.support.live_server import LiveServer
from tests.support.moto_s3 import MotoS3, start_moto
from tests.support.redis_server import RedisServer
from tests.support.s3_server import start_on_store
from tests.support.seaweedfs import SeaweedFS, start_seaweedfs
from tests.support.small_disk import SmallDisk

# A parameter a marker sets, and its value for unmarked tests: `stores` (the store of a test's servers and apps),
# `s3_servers` (the S3 server of a tests/s3 test).
MARKED_PARAMETERS = {"store_kind": ("stores", ("file",)), "s3_kind": ("s3_servers", ("seaweedfs",))}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Unmarked tests are parametrized too (with "file" alone): a module or session fixture built for one store
    # is then never handed to a test of the other, as it would be if only some tests carried the parameter.
    for parameter, (marker_name, default) in MARKED_PARAMETERS.items():
        if parameter in metafunc.fixturenames:
            marker = metafunc.definition.get_closest_marker(marker_name)
            metafunc.parametrize(parameter, marker.args if marker is not None else default, scope="session")


@pytest.fixture(scope="session")
def store_kind() -> str:
    """The store of the test's servers and apps: "file" unless the test is marked with `stores`."""
    return "file"


@pytest.fixture
def live_server(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A real server process with its own upload directory (or bucket), for one test."""
    server = start_on_store(store_kind, request, tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_live_server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """One real server per store for tests that only create their own uploads and never stop it."""
    server = start_on_store(store_kind, request, tmp_path_factory.mktemp(f"shared-server-{store_kind}"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_s3_bucket(seaweedfs: SeaweedFS) -> str:
    """One bucket for in-process apps on S3; each test keeps its uploads under a key prefix of its own."""
    return seaweedfs.create_bucket()


@pytest.fixture(scope="session")
def seaweedfs_client(seaweedfs: SeaweedFS) -> Any:
    """One synchronous client for reading what the tests stored (making a client costs more than most tests)."""
    return seaweedfs.client()


@pytest.fixture
def store_fields(store_kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The Settings fields that put an in-process app on `store_kind` (none for files)."""
    if store_kind == "file":
        return {}
    seaweedfs: SeaweedFS = request.getfixturevalue("seaweedfs")
    for name, value in seaweedfs.env().items():
        monkeypatch.setenv(name, value)  # the store reads its credentials as in production
    return {
        "s3_bucket": request.getfixturevalue("shared_s3_bucket"),
        "s3_endpoint": seaweedfs.endpoint,
        "s3_region": seaweedfs.region,
        "s3_object_prefix": f"t-{uuid.uuid4().hex[:12]}",
    }


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    """The upload directory of an in-process app (on S3 only its local scratch space)."""
    return tmp_path / "uploads"


@pytest.fixture
def storage(upload_dir: Path, store_fields: dict[str, Any], request: pytest.FixtureRequest) -> Path | S3Bucket:
    """Where an in-process app made with `store_fields` keeps its uploads, for a TusClient to read them back."""
    if not store_fields:
        return upload_dir
    client = request.getfixturevalue("seaweedfs_client")
    return S3Bucket(client, store_fields["s3_bucket"], store_fields["s3_object_prefix"])


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


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """One moto S3 server for the session: the second S3 dialect of tests/s3 (`s3_servers` marker)."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
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
