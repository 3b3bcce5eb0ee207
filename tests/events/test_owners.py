"""With auth, events follow their owner: per-owner streams, per-owner batches, per-user connection limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.events.clients import (
    SseFollower,
    admitted_socket,
    create,
    follow_ws,
    following,
    holding_a_place,
    of_upload,
    upload,
    ws_url,
)
from tests.events.conftest import start_server
from tests.support.live_server import LiveServer
from tests.support.tus import payload, upload_id

ALICE, BOB = {"X-API-Key": "alice-key"}, {"X-API-Key": "bob-key"}


@pytest.fixture(scope="module")
def owned_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        tmp_path_factory.mktemp("owned-server"),
        "--auth",
        "api-key",
        "--api-keys",
        "alice-key:alice,bob-key:bob",
        "--max-event-connections-per-user",
        "1",
    )
    yield server
    server.stop()


@pytest.fixture
async def alice() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=ALICE, timeout=30) as client:
        yield client


@pytest.fixture
async def bob() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=BOB, timeout=30) as client:
        yield client


async def test_an_unfiltered_stream_sends_only_the_callers_uploads(
    owned_server: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    hers, his = await create(alice, owned_server, 10), await create(bob, owned_server, 10)
    follower = SseFollower()
    task = await following(
        follower, f"{owned_server.endpoint}events", headers=ALICE, stop_after=of_upload(hers, "completed")
    )

    await upload(bob, his, payload(10))
    await upload(alice, hers, payload(10))
    await task

    assert {e["upload_id"] for e in follower.events} == {upload_id(hers)}


async def test_someone_elses_upload_events_are_forbidden(
    owned_server: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    hers = await create(alice, owned_server, 10)

    response = await bob.get(f"{hers}/events")

    assert response.status_code == 403
    assert response.json()["error_code"] == "forbidden"


async def test_someone_elses_upload_over_websocket_gets_the_error_and_a_close(
    owned_server: LiveServer, alice: httpx.AsyncClient
) -> None:
    hers = await create(alice, owned_server, 10)

    follower = await follow_ws(ws_url(owned_server, f"{upload_id(hers)}/events?token=bob-key"))

    assert [(m["type"], m["error_code"]) for m in follower.events] == [("error", "forbidden")]
    assert follower.close_code == 4403


async def test_batches_of_the_same_name_are_separate_per_owner(
    owned_server: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await create(alice, owned_server, 10, {"batch": "photos"})
    await create(alice, owned_server, 10, {"batch": "photos"})
    await create(bob, owned_server, 10, {"batch": "photos"})

    hers = (await alice.get(f"{owned_server.endpoint}batches/photos")).json()
    his = (await bob.get(f"{owned_server.endpoint}batches/photos")).json()

    assert (hers["files"], his["files"]) == (2, 1)


async def test_the_per_user_limit_counts_each_user_apart(owned_server: LiveServer) -> None:
    async with holding_a_place(owned_server, "events?token=alice-key"):
        alice_again = await follow_ws(ws_url(owned_server, "events?token=alice-key"))
        bob = await admitted_socket(owned_server, "events?token=bob-key")
        bob_admitted = bob is not None
        if bob is not None:
            await bob.close()

    assert (alice_again.close_code, alice_again.close_reason) == (1008, "at most 1 event connections per user")
    assert bob_admitted


async def test_events_without_credentials_are_refused(owned_server: LiveServer) -> None:
    async with httpx.AsyncClient() as anonymous:
        response = await anonymous.get(f"{owned_server.endpoint}events")
    ws = await follow_ws(ws_url(owned_server, "events"))

    assert response.status_code == 401
    assert ws.close_code == 4401


async def test_the_listing_shows_only_the_callers_uploads(
    owned_server: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    hers = await create(alice, owned_server, 10, {"batch": "listed"})
    await create(bob, owned_server, 10, {"batch": "listed"})

    page = (await alice.get(owned_server.endpoint, params={"batch": "listed"})).json()

    assert [row["url"] for row in page["uploads"]] == [hers]
    assert page["counts"]["created"] == 1
