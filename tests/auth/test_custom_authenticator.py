"""An embedding application may pass its own async authenticator to create_app; it guards every route."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.requests import HTTPConnection

from tests.auth.conftest import MakeApp
from tests.hostile.asgi import websocket
from tests.http.tus_client import TusClient, assert_error
from tusd_py.auth import Principal

SESSIONS = {"session-alice": Principal("alice"), "session-root": Principal("root", admin=True)}


async def by_session_cookie(connection: HTTPConnection) -> Principal | None:
    """What an embedding app might do: look its own session up."""
    session = connection.cookies.get("session")
    return SESSIONS.get(session) if session else None


Client = Callable[..., TusClient]


async def test_the_principal_a_custom_authenticator_returns_owns_the_upload(
    make_app: MakeApp, client_of: Client
) -> None:
    alice = client_of(make_app(authenticator=by_session_cookie), {"Cookie": "session=session-alice"})

    url = await alice.new_upload(5)

    assert alice.stored_info(url)["TusdPy"]["owner"] == "alice"


async def test_when_a_custom_authenticator_finds_no_principal_the_request_gets_401(
    make_app: MakeApp, client_of: Client
) -> None:
    stranger = client_of(make_app(authenticator=by_session_cookie), {"Cookie": "session=made-up"})

    response = await stranger.create(5)

    assert_error(response, 401)
    assert stranger.stored_files() == []


async def test_a_custom_authenticator_replaces_the_auth_mode_of_the_settings(
    make_app: MakeApp, keys_file: Path, client_of: Client
) -> None:
    app = make_app(authenticator=by_session_cookie, auth="api-key", api_keys_file=keys_file)

    assert_error(await client_of(app, {"X-API-Key": "alice-key"}).create(5), 401)
    assert (await client_of(app, {"Cookie": "session=session-alice"}).create(5)).status_code == 201


async def test_a_custom_authenticator_may_make_an_admin(make_app: MakeApp, client_of: Client) -> None:
    app = make_app(authenticator=by_session_cookie)
    url = await client_of(app, {"Cookie": "session=session-alice"}).new_upload(5)

    assert (await client_of(app, {"Cookie": "session=session-root"}).head(url)).status_code == 200


async def test_a_custom_authenticator_guards_websockets_too(make_app: MakeApp) -> None:
    app = make_app(authenticator=by_session_cookie)
    ping = ['{"action": "ping"}']

    refused = await websocket(app, b"/files/events", messages=ping)
    admitted = await websocket(app, b"/files/events", [(b"cookie", b"session=session-alice")], messages=ping)

    assert (refused.close_code, refused.texts) == (4401, [])
    assert [reply["type"] for reply in admitted.json()] == ["pong"]
