"""Fixtures: the tus app built in-process from Settings, and a TusClient talking to it through httpx.

Marked `@pytest.mark.stores("file", "s3")` (tests/conftest.py), a test runs on each store: on S3 the app keeps its
uploads under a key prefix of the test's own in the session's SeaweedFS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.http.tus_client import TusClient
from tests.interop.stored_upload import S3Bucket
from tusd_py import Settings, create_app

MakeTus = Callable[..., TusClient]


@pytest.fixture
async def make_tus(
    upload_dir: Path, store_fields: dict[str, Any], storage: Path | S3Bucket
) -> AsyncIterator[MakeTus]:
    """`make_tus(max_size=10)`: a client of a fresh app with those settings (`environ` for TUSD_PY_* variables)."""
    clients: list[TusClient] = []

    def make(environ: Mapping[str, str] | None = None, **fields: Any) -> TusClient:
        settings = Settings.from_env(dict(environ or {}), upload_dir=upload_dir, **{**store_fields, **fields})
        client = TusClient(create_app(settings), upload_dir, endpoint=settings.base_path, storage=storage)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def tus(make_tus: MakeTus) -> TusClient:
    """A client of an app with default settings."""
    return make_tus()
