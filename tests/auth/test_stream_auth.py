"""WebSockets and SSE authenticate like every request: by header, or by a `token` query parameter for browsers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import websockets

from tests.auth.conftest import KEYS, key_header, start_live
from tests.auth.streams import Socket, create, sse_start, upload, upload_id, ws_uri
from tests.auth.tokens import SECRET, bearer, hs256
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def jwt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live(tmp_path_factory.mktemp("jwt-server"), "--auth", "jwt", "--jwt-secret", SECRET)
    yield server
    server.stop()


async def pong_or_close(uri: str, headers: dict[str, str] | None = None) -> tuple[str | None, int | None, str | None]:
    """Ping on a new multiplexed socket: the reply's type, or None and how the server closed it."""
    async with websockets.connect(uri, additional_headers=headers) as ws:
        socket = Socket(ws)
        with contextlib.suppress(websockets.ConnectionClosed):  # refused before the ping went out
            await socket.send({"action": "ping"})
        reply = await socket.next()
        return (reply["type"] if reply else None), ws.close_code, ws.close_reason


async def test_a_websocket_without_credentials_is_closed_with_4401(keyed_server: LiveServer) -> None:
    assert await pong_or_close(ws_uri(keyed_server, "events")) == (None, 4401, "credentials are required")


async def test_a_websocket_with_an_unknown_key_is_closed_with_4401(keyed_server: LiveServer) -> None:
    reply, code, _ = await pong_or_close(ws_uri(keyed_server, "events"), {"X-API-Key": "guessed"})

    assert (reply, code) == (None, 4401)


async def test_a_websocket_authenticates_with_the_api_key_header(keyed_server: LiveServer) -> None:
    reply, _, _ = await pong_or_close(ws_uri(keyed_server, "events"), key_header("alice"))

    assert reply == "pong"


async def test_a_websocket_authenticates_with_a_token_query_parameter(keyed_server: LiveServer) -> None:
    reply, _, _ = await pong_or_close(ws_uri(keyed_server, "events", token=KEYS["alice"]))

    assert reply == "pong"


async def test_a_per_upload_websocket_with_a_token_follows_the_owners_upload(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, key_header("alice"), 5)
    await upload(url, key_header("alice"), b"hello")

    async with websockets.connect(ws_uri(keyed_server, f"{upload_id(url)}/events", token=KEYS["alice"])) as ws:
        events = await Socket(ws).to_the_end()

    assert [event["type"] for event in events] == ["completed"]
    assert ws.close_code == 1000


async def test_an_sse_stream_without_credentials_gets_401(keyed_server: LiveServer) -> None:
    status, headers, body = await sse_start(keyed_server, "events")

    assert status == 401
    assert headers["WWW-Authenticate"] == "ApiKey"
    assert b'"unauthenticated"' in body


async def test_an_sse_stream_authenticates_with_the_api_key_header(keyed_server: LiveServer) -> None:
    status, headers, _ = await sse_start(keyed_server, "events", key_header("alice"))

    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")


async def test_an_sse_stream_authenticates_with_a_token_query_parameter(keyed_server: LiveServer) -> None:
    url = await create(keyed_server, key_header("alice"), 5)

    status, _, first = await sse_start(keyed_server, f"{upload_id(url)}/events", token=KEYS["alice"])

    assert status == 200
    assert first.startswith(b"retry:")


async def test_a_websocket_authenticates_with_a_bearer_token(jwt_server: LiveServer) -> None:
    reply, _, _ = await pong_or_close(ws_uri(jwt_server, "events"), bearer(hs256("alice")))

    assert reply == "pong"


async def test_a_websocket_authenticates_with_a_jwt_as_token_query_parameter(jwt_server: LiveServer) -> None:
    reply, _, _ = await pong_or_close(ws_uri(jwt_server, "events", token=hs256("alice")))

    assert reply == "pong"


async def test_a_websocket_with_an_expired_jwt_is_closed_with_4401(jwt_server: LiveServer) -> None:
    reply, code, reason = await pong_or_close(ws_uri(jwt_server, "events", token=hs256("alice", expires_in=-60)))

    assert (reply, code, reason) == (None, 4401, "the token has expired")


async def test_an_sse_stream_authenticates_with_a_jwt_as_token_query_parameter(jwt_server: LiveServer) -> None:
    status, _, _ = await sse_start(jwt_server, "events", token=hs256("alice"))

    assert status == 200


async def test_an_sse_stream_with_a_jwt_of_a_forged_signature_gets_401(jwt_server: LiveServer) -> None:
    status, _, _ = await sse_start(jwt_server, "events", token=hs256("alice", secret="x" * 40))

    assert status == 401


async def test_a_token_query_parameter_is_not_written_to_the_server_log(keyed_server: LiveServer) -> None:
    """Query strings end up in logs; a credential passed that way must not."""
    reply, _, _ = await pong_or_close(ws_uri(keyed_server, "events", token=KEYS["bob"]))
    status, _, _ = await sse_start(keyed_server, "events", token=KEYS["bob"])

    assert (reply, status) == ("pong", 200)
    assert KEYS["bob"] not in keyed_server.log()
