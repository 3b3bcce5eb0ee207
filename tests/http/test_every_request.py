"""Rules for every request: Tus-Resumable both ways, strict integer headers, X-HTTP-Method-Override."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.http.tus_client import (
    OFFSET_STREAM,
    TusClient,
    assert_error,
    raw_headers,
    tus_headers,
)

Exchange = Callable[[TusClient], Awaitable[httpx.Response]]


async def _options(tus: TusClient) -> httpx.Response:
    return await tus.options()


async def _create(tus: TusClient) -> httpx.Response:
    return await tus.create(5)


async def _head(tus: TusClient) -> httpx.Response:
    return await tus.head(await tus.new_upload(5))


async def _patch(tus: TusClient) -> httpx.Response:
    return await tus.patch(await tus.new_upload(5), b"abc", offset=0)


async def _delete(tus: TusClient) -> httpx.Response:
    return await tus.delete(await tus.new_upload(5))


async def _bad_request(tus: TusClient) -> httpx.Response:
    return await tus.create()


async def _not_found(tus: TusClient) -> httpx.Response:
    return await tus.head(tus.endpoint + "0123456789abcdef")


async def _not_found_with_body(tus: TusClient) -> httpx.Response:
    return await tus.patch(tus.endpoint + "0123456789abcdef", b"x", offset=0)


async def _conflict(tus: TusClient) -> httpx.Response:
    return await tus.patch(await tus.new_upload(5), b"abc", offset=1)


async def _precondition_failed(tus: TusClient) -> httpx.Response:
    return await tus.http.post(tus.endpoint, headers={"Upload-Length": "5"})


async def _method_not_allowed(tus: TusClient) -> httpx.Response:
    return await tus.http.put(tus.endpoint, headers=tus_headers())


async def _unknown_route(tus: TusClient) -> httpx.Response:
    return await tus.http.get("/no/such/route", headers=tus_headers())


EVERY_KIND_OF_RESPONSE: dict[str, Exchange] = {
    "options 200": _options,
    "post 201": _create,
    "head 200": _head,
    "patch 204": _patch,
    "delete 204": _delete,
    "400": _bad_request,
    "head 404": _not_found,
    "patch 404": _not_found_with_body,
    "409": _conflict,
    "412": _precondition_failed,
    "405": _method_not_allowed,
    "unknown route 404": _unknown_route,
}


@pytest.mark.parametrize("exchange", EVERY_KIND_OF_RESPONSE.values(), ids=EVERY_KIND_OF_RESPONSE.keys())
async def test_every_response_carries_tus_resumable(tus: TusClient, exchange: Exchange) -> None:
    response = await exchange(tus)

    assert response.headers["Tus-Resumable"] == "1.0.0"


# -- 412 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "2.0.0", ""])
async def test_post_without_the_right_tus_resumable_is_412_with_tus_version(
    tus: TusClient, version: str | None
) -> None:
    headers = {"Upload-Length": "5"} | ({"Tus-Resumable": version} if version is not None else {})

    response = await tus.http.post(tus.endpoint, headers=headers)

    assert_error(response, 412)
    assert response.headers["Tus-Version"] == "1.0.0"


async def test_post_without_tus_resumable_creates_nothing(tus: TusClient) -> None:
    await tus.http.post(tus.endpoint, headers={"Upload-Length": "5"})

    assert tus.stored_files() == []


async def test_head_without_tus_resumable_is_412(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.head(url)

    assert_error(response, 412)
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "Upload-Offset" not in response.headers


async def test_patch_without_tus_resumable_is_412_and_stores_nothing(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.patch(url, headers={"Upload-Offset": "0", "Content-Type": OFFSET_STREAM}, content=b"abc")

    assert_error(response, 412)
    assert response.headers["Tus-Version"] == "1.0.0"
    assert await tus.offset_of(url) == 0
    assert tus.stored_bytes(url) == b""


async def test_delete_without_tus_resumable_is_412_and_keeps_the_upload(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.delete(url)

    assert_error(response, 412)
    assert response.headers["Tus-Version"] == "1.0.0"
    assert (await tus.head(url)).status_code == 200


# -- strict integers -------------------------------------------------------------------------------

NOT_A_NON_NEGATIVE_DECIMAL = {
    "plus sign": "+5",
    "minus sign": "-5",
    "minus zero": "-0",
    "inner space": "1 0",
    "hex": "0x10",
    "hex digits": "ff",
    "exponent": "1e3",
    "decimal point": "5.0",
    "empty": "",
    "2^63": str(2**63),
    "2^64": str(2**64),
    "twenty digits": "9" * 20,
    "unicode digits": "\u0665",
}


@pytest.mark.parametrize("value", NOT_A_NON_NEGATIVE_DECIMAL.values(), ids=NOT_A_NON_NEGATIVE_DECIMAL.keys())
async def test_upload_length_that_is_not_a_non_negative_decimal_is_400(tus: TusClient, value: str) -> None:
    response = await tus.http.post(
        tus.endpoint, headers=raw_headers(("Tus-Resumable", "1.0.0"), ("Upload-Length", value.encode("utf-8")))
    )

    assert_error(response, 400)
    assert tus.stored_files() == []


@pytest.mark.parametrize("value", NOT_A_NON_NEGATIVE_DECIMAL.values(), ids=NOT_A_NON_NEGATIVE_DECIMAL.keys())
async def test_upload_offset_that_is_not_a_non_negative_decimal_is_400(tus: TusClient, value: str) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.patch(
        url,
        headers=raw_headers(
            ("Tus-Resumable", "1.0.0"),
            ("Content-Type", OFFSET_STREAM),
            ("Upload-Offset", value.encode("utf-8")),
        ),
        content=b"abc",
    )

    assert_error(response, 400)
    assert await tus.offset_of(url) == 0


async def test_upload_length_just_below_2_63_is_accepted(tus: TusClient) -> None:
    response = await tus.create(2**63 - 1)

    assert response.status_code == 201


async def test_repeated_upload_length_is_400(tus: TusClient) -> None:
    response = await tus.http.post(
        tus.endpoint, headers=[("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Length", "5")]
    )

    assert_error(response, 400)
    assert tus.stored_files() == []


async def test_repeated_upload_offset_is_400(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.patch(
        url,
        headers=[
            ("Tus-Resumable", "1.0.0"),
            ("Content-Type", OFFSET_STREAM),
            ("Upload-Offset", "0"),
            ("Upload-Offset", "0"),
        ],
        content=b"abc",
    )

    assert_error(response, 400)
    assert await tus.offset_of(url) == 0


# -- X-HTTP-Method-Override ------------------------------------------------------------------------


async def test_post_overridden_to_patch_appends(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.post(
        url,
        headers=tus_headers(upload_offset=0, content_type=OFFSET_STREAM, x_http_method_override="PATCH"),
        content=b"abc",
    )

    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "3"
    assert tus.stored_bytes(url) == b"abc"


async def test_post_overridden_to_delete_terminates(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    response = await tus.http.post(url, headers=tus_headers(x_http_method_override="DELETE"))

    assert response.status_code == 204
    assert (await tus.head(url)).status_code in (404, 410)


async def test_get_overridden_to_options_answers_discovery(tus: TusClient) -> None:
    response = await tus.http.get(tus.endpoint, headers={"X-HTTP-Method-Override": "OPTIONS"})

    assert response.status_code == 200
    assert response.headers["Tus-Version"] == "1.0.0"
