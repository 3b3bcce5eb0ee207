"""DELETE: an upload, finished or not, goes away with exactly 204; an in-flight PATCH on it is stopped first."""

from __future__ import annotations

import asyncio

import pytest

from tests.http.conftest import MakeTus
from tests.http.scripted_body import ScriptedBody, patch_headers, send_raw
from tests.http.tus_client import TusClient, assert_error, upload_id_of

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


async def test_delete_on_an_unfinished_upload_is_204(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    response = await tus.delete(url)

    assert response.status_code == 204
    assert response.content == b""


async def test_delete_on_a_finished_upload_is_204(tus: TusClient) -> None:
    url = await tus.uploaded(b"hello")

    response = await tus.delete(url)

    assert response.status_code == 204


async def test_after_delete_head_is_404_or_410(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.delete(url)

    response = await tus.head(url)

    assert response.status_code in (404, 410)


async def test_after_delete_patch_is_404_or_410(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.delete(url)

    response = await tus.patch(url, b"abc", offset=0)

    assert response.status_code in (404, 410)
    assert_error(response, response.status_code)


async def test_delete_removes_the_data_and_the_info(tus: TusClient) -> None:
    url = await tus.uploaded(b"hello")

    await tus.delete(url)

    assert upload_id_of(url) not in tus.stored_files()
    assert upload_id_of(url) + ".info" not in tus.stored_files()


async def test_delete_on_an_unknown_upload_is_404(tus: TusClient) -> None:
    response = await tus.delete(tus.endpoint + "0123456789abcdef0123456789abcdef")

    assert_error(response, 404)


async def test_a_second_delete_is_404_or_410(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.delete(url)

    response = await tus.delete(url)

    assert response.status_code in (404, 410)


async def test_delete_stops_an_in_flight_patch_first(make_tus: MakeTus) -> None:
    tus = make_tus(network_timeout=60, lock_timeout=5)
    url = await tus.new_upload(10)
    body = ScriptedBody([b"abc"], then="stall")
    in_flight = asyncio.create_task(send_raw(tus.app, "PATCH", "/files/" + upload_id_of(url), patch_headers(0), body))
    try:
        await asyncio.wait_for(body.stalled.wait(), 5)

        response = await asyncio.wait_for(tus.delete(url), 5)

        assert response.status_code == 204
        await asyncio.wait_for(in_flight, 5)
        assert (await tus.head(url)).status_code in (404, 410)
        assert upload_id_of(url) not in tus.stored_files()
    finally:
        body.hang_up()
        await asyncio.gather(in_flight, return_exceptions=True)
