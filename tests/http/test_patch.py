"""PATCH: appending bytes at the right offset, within the length, keeping what arrived when a body ends early."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.http.conftest import MakeTus
from tests.http.scripted_body import ScriptedBody, patch_headers, send_raw
from tests.http.tus_client import TusClient, assert_error, upload_id_of

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


def path_of(url: str) -> str:
    return "/files/" + upload_id_of(url)


async def streamed(*chunks: bytes) -> AsyncIterator[bytes]:
    """A body of unknown length (no Content-Length), as a client streaming a file sends it."""
    for chunk in chunks:
        yield chunk


# -- content type -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain", "application/offset"])
async def test_patch_without_the_offset_content_type_is_415(tus: TusClient, content_type: str | None) -> None:
    url = await tus.new_upload(10)
    headers = {"Tus-Resumable": "1.0.0", "Upload-Offset": "0"}
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = await tus.http.patch(url, headers=headers, content=b"abc")

    assert_error(response, 415)
    assert tus.stored_bytes(url) == b""
    assert await tus.offset_of(url) == 0


# -- offset -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 3, 100], ids=["start", "behind", "ahead", "past the length"])
async def test_patch_at_another_offset_than_the_current_one_is_409(tus: TusClient, offset: int) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"ab", offset=0)

    response = await tus.patch(url, b"cd", offset=offset)

    assert_error(response, 409)


async def test_a_409_changes_nothing(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"ab", offset=0)
    info_before = tus.stored_info(url)

    await tus.patch(url, b"cd", offset=0)

    assert tus.stored_bytes(url) == b"ab"
    assert tus.stored_info(url) == info_before
    assert await tus.offset_of(url) == 2


# -- success ----------------------------------------------------------------------------------------


async def test_patch_is_exactly_204_with_the_new_offset(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.patch(url, b"abcd", offset=0)

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "4"
    assert response.content == b""


async def test_patch_appends_the_body_to_the_stored_bytes(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    await tus.patch(url, b"abcd", offset=0)
    await tus.patch(url, b"efg", offset=4)

    assert tus.stored_bytes(url) == b"abcdefg"


async def test_a_patch_reaching_the_length_completes_the_upload(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abcd", offset=0)

    response = await tus.patch(url, b"efghij", offset=4)

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "10"
    assert tus.stored_bytes(url) == b"abcdefghij"


async def test_a_streamed_body_without_content_length_is_stored(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.patch(url, streamed(b"abc", b"def"), offset=0)

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "6"
    assert tus.stored_bytes(url) == b"abcdef"


async def test_an_empty_patch_on_an_unfinished_upload_keeps_the_offset(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    response = await tus.patch(url, b"", offset=3)

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "3"


async def test_patch_on_an_unknown_upload_is_404(tus: TusClient) -> None:
    response = await tus.patch(tus.endpoint + "0123456789abcdef0123456789abcdef", b"abc", offset=0)

    assert_error(response, 404)
    assert "Upload-Offset" not in response.headers


# -- length -----------------------------------------------------------------------------------------


async def test_a_body_longer_than_the_remaining_length_is_413(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.patch(url, b"0123456789", offset=0)

    assert_error(response, 413)


async def test_a_body_longer_than_the_remaining_length_stores_nothing_past_the_length(tus: TusClient) -> None:
    url = await tus.new_upload(5)
    await tus.patch(url, b"ab", offset=0)

    await tus.patch(url, b"cdefghij", offset=2)

    stored = tus.stored_bytes(url)
    assert len(stored) <= 5
    assert b"abcdefghij".startswith(stored)
    assert await tus.offset_of(url) == len(stored)


async def test_a_streamed_body_longer_than_the_remaining_length_is_413(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.patch(url, streamed(b"abc", b"defgh"), offset=0)

    assert_error(response, 413)


async def test_a_streamed_body_longer_than_the_remaining_length_stores_nothing_past_the_length(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    await tus.patch(url, streamed(b"abc", b"defgh", b"ijk"), offset=0)

    stored = tus.stored_bytes(url)
    assert len(stored) <= 5
    assert b"abcdefghijk".startswith(stored)
    assert await tus.offset_of(url) == len(stored)


async def test_an_empty_patch_on_a_finished_upload_is_204(tus: TusClient) -> None:
    url = await tus.uploaded(b"hello")

    response = await tus.patch(url, b"", offset=5)

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "5"
    assert tus.stored_bytes(url) == b"hello"


async def test_more_bytes_on_a_finished_upload_are_413_and_not_stored(tus: TusClient) -> None:
    url = await tus.uploaded(b"hello")

    response = await tus.patch(url, b"!", offset=5)

    assert_error(response, 413)
    assert tus.stored_bytes(url) == b"hello"


# -- bodies that end early --------------------------------------------------------------------------


async def test_a_dropped_connection_keeps_the_bytes_received(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    body = ScriptedBody([b"abc", b"def"], then="disconnect")

    await send_raw(tus.app, "PATCH", path_of(url), patch_headers(0), body)

    assert await tus.offset_of(url) == 6
    assert tus.stored_bytes(url) == b"abcdef"


async def test_after_a_dropped_connection_the_upload_resumes_at_the_stored_offset(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await send_raw(tus.app, "PATCH", path_of(url), patch_headers(0), ScriptedBody([b"abc"], then="disconnect"))

    response = await tus.patch(url, b"defghij", offset=3)

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"abcdefghij"


async def test_a_head_while_a_dropped_patch_is_still_open_shows_the_bytes_received(make_tus: MakeTus) -> None:
    # The client is gone but the server has not noticed yet (half-open connection): the client's HEAD to resume
    # must not wait for the network timeout, and must count what arrived.
    tus = make_tus(network_timeout=60, lock_timeout=5)
    url = await tus.new_upload(10)
    body = ScriptedBody([b"abc"], then="stall")
    stale = asyncio.create_task(send_raw(tus.app, "PATCH", path_of(url), patch_headers(0), body))
    try:
        await asyncio.wait_for(body.stalled.wait(), 5)

        response = await asyncio.wait_for(tus.head(url), 5)

        assert response.status_code == 200
        assert response.headers["Upload-Offset"] == "3"
    finally:
        body.hang_up()
        await asyncio.gather(stale, return_exceptions=True)


async def test_an_idle_body_is_ended_by_the_network_timeout(make_tus: MakeTus) -> None:
    tus = make_tus(network_timeout=0.2)
    url = await tus.new_upload(10)
    body = ScriptedBody([b"abc"], then="stall")

    try:
        response = await asyncio.wait_for(send_raw(tus.app, "PATCH", path_of(url), patch_headers(0), body), 5)
    finally:
        body.hang_up()

    assert 400 <= response.status < 500
    assert response.headers["tus-resumable"] == "1.0.0"


async def test_an_idle_body_keeps_the_bytes_received(make_tus: MakeTus) -> None:
    tus = make_tus(network_timeout=0.2)
    url = await tus.new_upload(10)
    body = ScriptedBody([b"abc"], then="stall")

    try:
        await asyncio.wait_for(send_raw(tus.app, "PATCH", path_of(url), patch_headers(0), body), 5)
    finally:
        body.hang_up()

    assert await tus.offset_of(url) == 3
    assert tus.stored_bytes(url) == b"abc"


# -- deferred length --------------------------------------------------------------------------------


async def test_the_first_patch_with_upload_length_sets_the_length(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"abc", offset=0, headers={"Upload-Length": "10"})

    assert response.status_code == 204
    head = await tus.head(url)
    assert head.headers["Upload-Length"] == "10"
    assert "Upload-Defer-Length" not in head.headers


async def test_a_patch_without_upload_length_leaves_the_length_deferred(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"abc", offset=0)

    assert response.status_code == 204
    head = await tus.head(url)
    assert head.headers["Upload-Defer-Length"] == "1"
    assert head.headers["Upload-Offset"] == "3"


async def test_a_zero_byte_patch_with_upload_length_sets_the_length_and_finishes(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)
    await tus.patch(url, b"abc", offset=0)

    response = await tus.patch(url, b"", offset=3, headers={"Upload-Length": "3"})

    assert response.status_code == 204
    head = await tus.head(url)
    assert head.headers["Upload-Length"] == "3"
    assert head.headers["Upload-Offset"] == "3"
    assert tus.stored_info(url)["SizeIsDeferred"] is False


async def test_upload_length_can_be_set_only_once(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)
    await tus.patch(url, b"abc", offset=0, headers={"Upload-Length": "10"})

    response = await tus.patch(url, b"def", offset=3, headers={"Upload-Length": "20"})

    assert_error(response, 400)
    assert (await tus.head(url)).headers["Upload-Length"] == "10"
    assert tus.stored_bytes(url) == b"abc"


async def test_upload_length_below_the_offset_is_400(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)
    await tus.patch(url, b"abcde", offset=0)

    response = await tus.patch(url, b"", offset=5, headers={"Upload-Length": "4"})

    assert_error(response, 400)
    assert (await tus.head(url)).headers["Upload-Defer-Length"] == "1"


async def test_upload_length_above_the_maximum_is_400(make_tus: MakeTus) -> None:
    tus = make_tus(max_size=10)
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"abc", offset=0, headers={"Upload-Length": "11"})

    assert_error(response, 400)
    assert tus.stored_bytes(url) == b""
    assert (await tus.head(url)).headers["Upload-Defer-Length"] == "1"


async def test_upload_length_sent_to_an_upload_created_with_a_length_is_400(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.patch(url, b"abc", offset=0, headers={"Upload-Length": "10"})

    assert_error(response, 400)
    assert tus.stored_bytes(url) == b""


async def test_a_declared_length_bounds_the_same_patch(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"abcdef", offset=0, headers={"Upload-Length": "4"})

    assert_error(response, 413)
    assert len(tus.stored_bytes(url)) <= 4


# -- final uploads ----------------------------------------------------------------------------------


async def test_patch_on_a_final_upload_is_403(tus: TusClient) -> None:
    partial = await tus.uploaded(b"abc", concat="partial")
    final = await tus.new_upload(concat=f"final;{partial}")

    response = await tus.patch(final, b"", offset=3)

    assert_error(response, 403)
    assert tus.stored_bytes(final) == b"abc"
