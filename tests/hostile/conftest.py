"""Fixtures for the hostile-input tests: in-process apps with their upload directory inside a watched parent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.http.tus_client import TusClient
from tusd_py import Settings, create_app

KEYS = {"alice": "alice-key", "bob": "bob-key", "root": "root-key"}
API_KEYS = "alice-key:alice,bob-key:bob,root-key:root:admin"


def credentials(user: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[user]}


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


MakeClient = Callable[..., TusClient]


@pytest.fixture
async def make_client(upload_dir: Path) -> AsyncIterator[MakeClient]:
    """`make_client(headers, max_size=10)`: a client of a fresh app with those settings, sending those headers."""
    made: list[tuple[Starlette, TusClient]] = []

    def make(headers: dict[str, str] | None = None, *, app: Starlette | None = None, **fields: Any) -> TusClient:
        app = app or create_app(Settings(upload_dir=upload_dir, **fields))
        client = TusClient(app, upload_dir)
        client.http.headers.update(headers or {})
        made.append((app, client))
        return client

    yield make
    for _, client in made:
        await client.aclose()
    for app in {id(app): app for app, _ in made}.values():
        await app.state.background.stop()
