"""Refused authentications are limited per client address, so keys and tokens cannot be guessed at full speed."""

from __future__ import annotations

from collections.abc import Callable

from tests.auth.conftest import MakeApp, key_header
from tests.http.tus_client import TusClient, assert_error

Client = Callable[..., TusClient]
GUESS = {"X-API-Key": "guessed"}


async def statuses_of(client: TusClient, count: int) -> list[int]:
    return [(await client.create(5)).status_code for _ in range(count)]


async def test_after_the_limit_of_refused_keys_an_address_gets_429_with_retry_after(
    make_app: MakeApp, client_of: Client
) -> None:
    guesser = client_of(make_app(auth="api-key", api_keys="alice-key:alice", auth_failure_limit=3), GUESS)

    statuses = await statuses_of(guesser, 3)
    refused = await guesser.create(5)

    assert statuses == [401, 401, 401]
    body = assert_error(refused, 429)
    assert body["error_code"] == "too_many_failed_authentications"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_a_blocked_address_is_refused_even_with_a_valid_key(make_app: MakeApp, client_of: Client) -> None:
    app = make_app(auth="api-key", api_keys="alice-key:alice", auth_failure_limit=2)
    await statuses_of(client_of(app, GUESS), 2)

    response = await client_of(app, key_header("alice")).create(5)

    assert_error(response, 429)


async def test_accepted_requests_do_not_count_towards_the_limit(make_app: MakeApp, client_of: Client) -> None:
    alice = client_of(make_app(auth="api-key", api_keys="alice-key:alice", auth_failure_limit=2), key_header("alice"))

    assert await statuses_of(alice, 10) == [201] * 10


async def test_a_limit_of_zero_never_blocks(make_app: MakeApp, client_of: Client) -> None:
    guesser = client_of(make_app(auth="api-key", api_keys="alice-key:alice", auth_failure_limit=0), GUESS)

    assert await statuses_of(guesser, 50) == [401] * 50
