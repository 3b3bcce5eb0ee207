"""Fixtures: tus apps on the S3 store, against the suite's real SeaweedFS, each test with a bucket of its own.

A test marked `@pytest.mark.s3_servers("seaweedfs", "moto")` runs once per S3 server: its `s3_server` (and so its
bucket, its apps and its checks) is then the session's SeaweedFS, then the session's moto server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.tus_client import TusClient
from tests.support.s3_endpoint import S3Endpoint
from tusd_py import Settings, create_app

MakeS3Tus = Callable[..., TusClient]


@pytest.fixture(scope="session")
def s3_kind() -> str:
    """The S3 server of the test (tests/conftest.py parametrizes it): "seaweedfs" unless marked `s3_servers`."""
    return "seaweedfs"


@pytest.fixture
def s3_server(s3_kind: str, request: pytest.FixtureRequest) -> S3Endpoint:
    """The S3 server of the test: the session's SeaweedFS unless it is marked with `s3_servers`."""
    server: S3Endpoint = request.getfixturevalue({"seaweedfs": "seaweedfs", "moto": "moto_s3"}[s3_kind])
    return server


@pytest.fixture
def s3_bucket(s3_server: S3Endpoint) -> str:
    """A new empty bucket on the test's S3 server."""
    return s3_server.create_bucket()


@pytest.fixture
def s3_env(s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The AWS_* variables of the test's S3 server, set for this test's process."""
    env = s3_server.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env


@pytest.fixture
async def make_s3_tus(
    s3_server: S3Endpoint, s3_bucket: str, s3_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[MakeS3Tus]:
    """`make_s3_tus(s3_part_size=...)`: a client of a fresh app on the test's bucket, with those settings."""
    clients: list[TusClient] = []

    def make(**fields: Any) -> TusClient:
        fields.setdefault("s3_bucket", s3_bucket)
        fields.setdefault("s3_endpoint", s3_server.endpoint)
        settings = Settings.from_env({}, upload_dir=tmp_path / "unused", **fields)
        client = TusClient(create_app(settings), tmp_path / "unused", endpoint=settings.base_path)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
        await client.app.state.service.store.aclose()


@pytest.fixture
def s3_tus(make_s3_tus: MakeS3Tus) -> TusClient:
    return make_s3_tus()
