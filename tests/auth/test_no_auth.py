"""Auth mode none (the default): open to whoever can connect, so the server warns when bound beyond loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.auth.conftest import MakeApp, key_header, start_live
from tests.http.tus_client import TusClient
from tests.support.live_server import LiveServer

WARNING = "without authentication: anyone who can reach it may upload, read and delete files"


async def test_without_auth_requests_need_no_credentials_and_uploads_have_no_owner(
    make_app: MakeApp, client_of: Callable[..., TusClient]
) -> None:
    anyone = client_of(make_app())

    url = await anyone.uploaded(b"hello")

    assert "owner" not in anyone.stored_info(url)["TusdPy"]
    assert (await client_of(make_app()).http.get(url)).content == b"hello"


def test_binding_to_every_address_without_auth_logs_a_warning(tmp_path: Path) -> None:
    server = start_live(tmp_path, "--host", "0.0.0.0")
    try:
        log = server.log()
    finally:
        server.stop()

    assert f"listening on 0.0.0.0 {WARNING}; use --auth api-key or --auth jwt" in log
    assert "WARNING" in next(line for line in log.splitlines() if WARNING in line)


def test_binding_to_loopback_without_auth_logs_no_warning(shared_live_server: LiveServer) -> None:
    assert WARNING not in shared_live_server.log()


def test_binding_to_every_address_with_auth_logs_no_warning(tmp_path: Path) -> None:
    server = start_live(tmp_path, "--host", "0.0.0.0", "--auth", "api-key", env={"TUSD_PY_API_KEYS": "k:alice"})
    try:
        log = server.log()
    finally:
        server.stop()

    assert WARNING not in log


async def test_an_upload_made_without_auth_is_open_to_every_user_once_auth_is_on(
    make_app: MakeApp, keys_file: Path, client_of: Callable[..., TusClient]
) -> None:
    url = await client_of(make_app()).uploaded(b"hello")

    keyed = make_app(auth="api-key", api_keys_file=keys_file)

    assert (await client_of(keyed, key_header("bob")).http.get(url)).content == b"hello"
