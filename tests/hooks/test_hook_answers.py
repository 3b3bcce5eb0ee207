"""A blocking hook that lets a request go on shapes its answer as in tusd (HTTPResponse merged into the server's):
its status and body replace the server's own, its headers are added, and the tus headers stay the server's."""

from __future__ import annotations

import json

import pytest

from tests.hooks.conftest import MakeHooked
from tests.http.tus_client import assert_error
from tusd_py.hooks.models import HookResponse, HTTPResponse

pytestmark = pytest.mark.stores("file", "s3")  # hooks see the same uploads on either store


def answer(status: int | None = None, body: str | None = None, **headers: str) -> HookResponse:
    return HookResponse(http_response=HTTPResponse(status, body, headers))


async def test_pre_create_may_give_the_created_answer_its_status_and_body(make_hooked: MakeHooked) -> None:
    said = answer(200, json.dumps({"quota_left": 3}), **{"Content-Type": "application/json", "X-Quota-Left": "3"})
    client = make_hooked({"pre-create": lambda request: said})

    response = await client.create(5)

    assert response.status_code == 200
    assert response.json() == {"quota_left": 3}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-quota-left"] == "3"
    assert client.stored_anything(response.headers["location"])
    assert await client.offset_of(response.headers["location"]) == 0  # the upload was made all the same


async def test_a_body_without_a_content_type_is_plain_text(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: answer(body="welcome")})

    response = await client.create(5)

    assert response.status_code == 201
    assert (response.text, response.headers["content-type"]) == ("welcome", "text/plain; charset=utf-8")


async def test_pre_finish_may_give_the_last_patch_a_status_and_body(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-finish": lambda request: answer(200, "queued for review")})
    url = await client.new_upload(6)

    partial = await client.patch(url, b"abc", offset=0)
    final = await client.patch(url, b"def", offset=3)

    assert (partial.status_code, partial.content) == (204, b"")  # not finished yet: no pre-finish
    assert (final.status_code, final.text) == (200, "queued for review")
    assert final.headers["upload-offset"] == "6"


async def test_pre_terminate_may_shape_the_answer_of_a_deletion_it_allows(make_hooked: MakeHooked) -> None:
    said = answer(200, '{"archived": true}', **{"Content-Type": "application/json", "X-Archived": "yes"})
    client = make_hooked({"pre-terminate": lambda request: said})
    url = await client.uploaded(b"abc")

    response = await client.delete(url)

    assert (response.status_code, response.json()) == (200, {"archived": True})
    assert response.headers["x-archived"] == "yes"
    assert_error(await client.head(url), 410)  # deleted all the same


async def test_a_body_for_a_204_is_dropped_not_sent(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-finish": lambda request: answer(body="no room for me")})
    url = await client.new_upload(3)

    response = await client.patch(url, b"abc", offset=0)

    assert (response.status_code, response.content) == (204, b"")
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


async def test_an_informational_status_never_becomes_the_answer(make_hooked: MakeHooked) -> None:
    client = make_hooked({"pre-create": lambda request: answer(102)})

    assert (await client.create(5)).status_code == 201
