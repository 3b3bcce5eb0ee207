"""Every upload records its owner; only the owner (or an admin) may touch it, see it listed, or see its batch."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.auth.conftest import Users
from tests.http.tus_client import TusClient, assert_error, tus_headers, upload_id_of

DATA = b"hello"
pytestmark = pytest.mark.stores("file", "s3")  # ownership is kept with the upload, on either store


def batch_metadata(name: str) -> str:
    return "batch " + base64.b64encode(name.encode()).decode()


def stored(tus: TusClient, url: str) -> tuple[bytes, dict[str, Any]]:
    return tus.stored_bytes(url), tus.stored_info(url)


async def test_an_upload_records_the_owner_who_created_it(users: Users) -> None:
    url = await users.bob.new_upload(5)

    assert users.bob.stored_info(url)["TusdPy"]["owner"] == "bob"


async def test_head_on_another_owners_upload_is_forbidden(users: Users) -> None:
    url = await users.alice.new_upload(5)

    response = await users.bob.head(url)

    assert_error(response, 403)
    assert "Upload-Offset" not in response.headers


async def test_patch_on_another_owners_upload_is_forbidden_and_stores_nothing(users: Users) -> None:
    url = await users.alice.new_upload(5)
    before = stored(users.alice, url)

    body = assert_error(await users.bob.patch(url, DATA, offset=0), 403)

    assert body["error_code"] == "forbidden"
    assert stored(users.alice, url) == before


async def test_download_of_another_owners_upload_is_forbidden(users: Users) -> None:
    url = await users.alice.uploaded(DATA)

    response = await users.bob.http.get(url)

    assert_error(response, 403)
    assert DATA not in response.content


async def test_delete_of_another_owners_upload_is_forbidden_and_keeps_it(users: Users) -> None:
    url = await users.alice.uploaded(DATA)
    before = stored(users.alice, url)

    assert_error(await users.bob.delete(url), 403)

    assert stored(users.alice, url) == before


async def test_progress_of_another_owners_upload_is_forbidden(users: Users) -> None:
    url = await users.alice.new_upload(5, metadata="filename c2VjcmV0LnR4dA==")

    response = await users.bob.http.get(url + "/progress")

    assert_error(response, 403)
    assert "secret.txt" not in response.text


async def test_the_sse_stream_of_another_owners_upload_is_forbidden(users: Users) -> None:
    url = await users.alice.new_upload(5)

    assert_error(await users.bob.http.get(url + "/events"), 403)


async def test_the_multiplexed_sse_stream_refuses_a_filter_on_another_owners_upload(users: Users) -> None:
    url = await users.alice.new_upload(5)

    response = await users.bob.http.get(users.bob.endpoint + "events", params={"upload_id": upload_id_of(url)})

    assert_error(response, 403)


async def test_a_final_upload_may_not_take_another_owners_partial(users: Users) -> None:
    partial = await users.alice.uploaded(DATA, concat="partial")

    response = await users.bob.create(concat=f"final;{partial}")

    assert_error(response, 403)
    assert len(users.bob.stored_files()) == 2  # only alice's partial: its data and its .info


async def test_the_owner_may_do_everything_on_its_own_upload(users: Users) -> None:
    url = await users.alice.uploaded(DATA)

    assert (await users.alice.head(url)).status_code == 200
    assert (await users.alice.http.get(url)).content == DATA
    assert (await users.alice.http.get(url + "/progress")).status_code == 200
    assert (await users.alice.delete(url)).status_code == 204


async def test_an_admin_may_do_everything_on_anyones_upload(users: Users) -> None:
    url = await users.alice.new_upload(len(DATA))

    assert (await users.root.head(url)).status_code == 200
    assert (await users.root.patch(url, DATA, offset=0)).status_code == 204
    assert (await users.root.http.get(url)).content == DATA
    assert (await users.root.http.get(url + "/progress")).json()["status"] == "completed"
    assert (await users.root.delete(url)).status_code == 204


async def test_an_upload_of_an_admin_is_still_forbidden_to_others(users: Users) -> None:
    url = await users.root.new_upload(5)

    assert_error(await users.alice.head(url), 403)


def listed_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {upload["id"] for upload in response.json()["uploads"]}


@pytest.fixture
async def uploads_of_each(users: Users) -> dict[str, set[str]]:
    """Two uploads of alice's and one of bob's."""
    return {
        "alice": {upload_id_of(await users.alice.new_upload(5)) for _ in range(2)},
        "bob": {upload_id_of(await users.bob.new_upload(5))},
    }


async def test_a_listing_shows_only_the_callers_uploads(users: Users, uploads_of_each: dict[str, set[str]]) -> None:
    alice_sees = await users.alice.http.get(users.alice.endpoint)
    bob_sees = await users.bob.http.get(users.bob.endpoint)

    assert listed_ids(alice_sees) == uploads_of_each["alice"]
    assert alice_sees.json()["total"] == 2
    assert sum(alice_sees.json()["counts"].values()) == 2
    assert listed_ids(bob_sees) == uploads_of_each["bob"]


async def test_an_admins_listing_shows_everyones_uploads(users: Users, uploads_of_each: dict[str, set[str]]) -> None:
    response = await users.root.http.get(users.root.endpoint)

    assert listed_ids(response) == uploads_of_each["alice"] | uploads_of_each["bob"]


async def test_a_listing_filtered_by_another_owners_batch_is_empty(users: Users) -> None:
    await users.alice.new_upload(5, metadata=batch_metadata("holiday"))

    response = await users.bob.http.get(users.bob.endpoint, params={"batch": "holiday"})

    assert listed_ids(response) == set()
    assert response.json()["total"] == 0


async def test_a_batch_that_only_another_owner_has_is_not_found(users: Users) -> None:
    await users.alice.new_upload(5, metadata=batch_metadata("holiday"))

    response = await users.bob.http.get(users.bob.endpoint + "batches/holiday")

    assert assert_error(response, 404)["error_code"] == "batch_not_found"


async def test_the_events_of_a_batch_that_only_another_owner_has_are_not_found(users: Users) -> None:
    await users.alice.new_upload(5, metadata=batch_metadata("holiday"))

    response = await users.bob.http.get(users.bob.endpoint + "batches/holiday/events", params={"wait": "0"})

    assert assert_error(response, 404)["error_code"] == "batch_not_found"


async def test_an_admin_sees_another_owners_batch_by_naming_the_owner(users: Users) -> None:
    await users.alice.new_upload(5, metadata=batch_metadata("holiday"))
    summary_url = users.root.endpoint + "batches/holiday"

    own = await users.root.http.get(summary_url)
    alices = await users.root.http.get(summary_url, params={"owner": "alice"})

    assert assert_error(own, 404)["error_code"] == "batch_not_found"  # the admin's own batch of that name
    assert alices.status_code == 200 and alices.json()["files"] == 1


async def test_only_an_admin_may_name_another_owner_of_a_batch(users: Users) -> None:
    await users.alice.new_upload(5, metadata=batch_metadata("holiday"))
    summary_url = users.bob.endpoint + "batches/holiday"

    refused = await users.bob.http.get(summary_url, params={"owner": "alice"})
    refused_events = await users.bob.http.get(summary_url + "/events", params={"owner": "alice"})
    own = await users.alice.http.get(summary_url, params={"owner": "alice"})

    assert assert_error(refused, 403)["error_code"] == "forbidden"
    assert assert_error(refused_events, 403)["error_code"] == "forbidden"
    assert own.status_code == 200


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll `probe` until it returns something truthy (batch counts follow events, which are published apart)."""
    async with asyncio.timeout(timeout):
        while not (value := await probe()):
            await asyncio.sleep(0.01)
    return value


async def test_two_owners_batches_of_the_same_name_are_counted_apart(users: Users) -> None:
    for _ in range(2):
        await users.alice.new_upload(5, metadata=batch_metadata("holiday"))
    await users.bob.uploaded(DATA, metadata=batch_metadata("holiday"))

    async def batch_of(tus: TusClient) -> dict[str, Any]:
        summary: dict[str, Any] = (await tus.http.get(tus.endpoint + "batches/holiday")).json()
        return summary

    async def bobs_finished() -> dict[str, Any] | None:
        summary = await batch_of(users.bob)
        return summary if summary["finished"] == 1 else None

    bob_sees = await eventually(bobs_finished)
    alice_sees = await batch_of(users.alice)

    assert (alice_sees["files"], alice_sees["finished"]) == (2, 0)
    assert (bob_sees["files"], bob_sees["finished"]) == (1, 1)


async def test_a_refused_request_names_no_more_than_the_id_it_was_given(users: Users) -> None:
    url = await users.alice.new_upload(5, metadata="filename c2VjcmV0LnR4dA==")

    body = assert_error(await users.bob.http.get(url, headers=tus_headers()), 403)

    assert body["details"] == {"upload_id": upload_id_of(url)}
    assert "alice" not in str(body)
