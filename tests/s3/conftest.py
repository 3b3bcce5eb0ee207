"""Fixtures: tus apps on the S3 store, against the suite's real SeaweedFS, each test with a bucket of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.tus_client import TusClient
from tests.support.seaweedfs import SeaweedFS
from tusd_py import Settings, create_app

MakeS3Tus = Callable[..., TusClient]


@pytest.fixture
def s3_env(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The AWS_* variables of the suite's SeaweedFS, set for this test's process."""
    env = seaweedfs.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield env


@pytest.fixture
async def make_s3_tus(
    seaweedfs: SeaweedFS, s3_bucket: str, s3_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[MakeS3Tus]:
    """`make_s3_tus(s3_part_size=...)`: a client of a fresh app on the test's bucket, with those settings."""
    clients: list[TusClient] = []

    def make(**fields: Any) -> TusClient:
        fields.setdefault("s3_bucket", s3_bucket)
        fields.setdefault("s3_endpoint", seaweedfs.endpoint)
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
