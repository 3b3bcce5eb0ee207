"""Fixtures for the auth tests: in-process apps with each auth mode, users as clients, live servers with keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.http.tus_client import TusClient
from tests.interop.stored_upload import S3Bucket
from tests.support.live_server import LiveServer, start_live
from tusd_py import Settings, create_app

KEYS_FILE = """\
# tusd_py API keys: KEY OWNER [admin]
alice-key alice
bob-key   bob      # a comment after a key

root-key  root admin
"""
KEYS = {"alice": "alice-key", "bob": "bob-key", "root": "root-key"}


def key_header(user: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[user]}


@dataclass
class Users:
    """One client per identity, all talking to the same app."""

    alice: TusClient
    bob: TusClient
    root: TusClient  # an admin
    stranger: TusClient  # no credentials at all


MakeApp = Callable[..., Starlette]


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys"
    path.write_text(KEYS_FILE)
    return path


@pytest.fixture
async def client_of(upload_dir: Path, storage: Path | S3Bucket) -> AsyncIterator[Callable[..., TusClient]]:
    """`client_of(app, headers)`: a TusClient sending those headers with every request."""
    clients: list[TusClient] = []

    def make(app: Starlette, headers: dict[str, str] | None = None) -> TusClient:
        client = TusClient(app, upload_dir, storage=storage)
        client.http.headers.update(headers or {})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def make_app(
    upload_dir: Path, store_fields: dict[str, Any], client_of: Callable[..., TusClient]
) -> AsyncIterator[MakeApp]:
    """`make_app(auth="jwt", jwt_secret=...)`: a fresh in-process app; `authenticator=` for a custom one.

    Its apps stop before their clients close (which closes an S3 store): events still due are sent first."""
    apps: list[Starlette] = []

    def make(authenticator: Any = None, **fields: Any) -> Starlette:
        app = create_app(Settings(upload_dir=upload_dir, **{**store_fields, **fields}), authenticator=authenticator)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.background.stop()


@pytest.fixture
def keyed_app(make_app: MakeApp, keys_file: Path) -> Starlette:
    return make_app(auth="api-key", api_keys_file=keys_file)


@pytest.fixture
def users(keyed_app: Starlette, client_of: Callable[..., TusClient]) -> Users:
    return Users(
        alice=client_of(keyed_app, key_header("alice")),
        bob=client_of(keyed_app, key_header("bob")),
        root=client_of(keyed_app, key_header("root")),
        stranger=client_of(keyed_app),
    )


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server with API-key auth: alice, bob, and root the admin."""
    root = tmp_path_factory.mktemp("keyed-server")
    (root / "api-keys").write_text(KEYS_FILE)
    server = start_live(
        root, "--auth", "api-key", "--api-keys-file", str(root / "api-keys"), "--progress-interval", "50ms"
    )
    yield server
    server.stop()
