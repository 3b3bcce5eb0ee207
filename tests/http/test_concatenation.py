"""Concatenation: partial uploads, and a final upload made of them in order, even before they finish."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.http.tus_client import TusClient, assert_error, upload_id_of

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


def relative(url: str) -> str:
    return urlsplit(url).path


def final_of(*partial_urls: str) -> str:
    return "final;" + " ".join(partial_urls)


# -- partial uploads --------------------------------------------------------------------------------


async def test_a_partial_upload_is_created_with_upload_concat_partial(tus: TusClient) -> None:
    response = await tus.create(5, concat="partial")

    assert response.status_code == 201


async def test_head_on_a_partial_upload_shows_upload_concat_partial(tus: TusClient) -> None:
    url = await tus.new_upload(5, concat="partial")

    response = await tus.head(url)

    assert response.headers["Upload-Concat"] == "partial"


async def test_a_partial_upload_takes_patches_like_any_upload(tus: TusClient) -> None:
    url = await tus.new_upload(5, concat="partial")

    response = await tus.patch(url, b"hello", offset=0)

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"hello"


# -- final uploads ----------------------------------------------------------------------------------


async def test_a_final_upload_from_absolute_urls_is_201(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    response = await tus.create(concat=final_of(first, second))

    assert response.status_code == 201


async def test_a_final_upload_from_relative_urls_is_201(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    response = await tus.create(concat=final_of(relative(first), relative(second)))

    assert response.status_code == 201
    assert tus.stored_bytes(response.headers["Location"]) == b"hello world"


async def test_the_final_data_is_the_partials_in_order(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=final_of(second, first))

    assert tus.stored_bytes(final) == b"worldhello "


async def test_the_final_length_is_the_sum_of_the_partials(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=final_of(first, second))

    head = await tus.head(final)
    assert head.headers["Upload-Length"] == "11"
    assert head.headers["Upload-Offset"] == "11"


async def test_the_same_partial_may_appear_twice(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")

    final = await tus.new_upload(concat=final_of(part, part))

    assert tus.stored_bytes(final) == b"abcabc"
    assert (await tus.head(final)).headers["Upload-Length"] == "6"


async def test_the_final_upload_carries_its_own_metadata(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial", metadata="filename cGFydDE=")
    second = await tus.uploaded(b"world", concat="partial", metadata="filename cGFydDI=")

    final = await tus.new_upload(concat=final_of(first, second), metadata="filename d2hvbGU=")

    assert (await tus.head(final)).headers["Upload-Metadata"] == "filename d2hvbGU="
    assert tus.stored_info(final)["MetaData"] == {"filename": "whole"}


async def test_a_final_upload_without_metadata_does_not_inherit_the_partials(tus: TusClient) -> None:
    part = await tus.uploaded(b"hello", concat="partial", metadata="filename cGFydDE=")

    final = await tus.new_upload(concat=final_of(part))

    assert "Upload-Metadata" not in (await tus.head(final)).headers


async def test_head_on_a_final_upload_lists_the_partials_as_absolute_urls(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=final_of(relative(first), relative(second)))

    assert (await tus.head(final)).headers["Upload-Concat"] == final_of(first, second)


async def test_the_final_upload_is_stored_in_tusd_layout(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")

    final = await tus.new_upload(concat=final_of(first, second))

    info = tus.stored_info(final)
    assert info["IsFinal"] is True
    assert info["PartialUploads"] == [upload_id_of(first), upload_id_of(second)]
    assert tus.stored_info(first)["IsPartial"] is True


async def test_zero_byte_partials_concatenate(tus: TusClient) -> None:
    empty = await tus.new_upload(0, concat="partial")
    part = await tus.uploaded(b"abc", concat="partial")

    final = await tus.new_upload(concat=final_of(empty, part, empty))

    head = await tus.head(final)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "3"
    assert tus.stored_bytes(final) == b"abc"


async def test_a_final_upload_of_only_zero_byte_partials_is_complete_and_empty(tus: TusClient) -> None:
    empty = await tus.new_upload(0, concat="partial")

    final = await tus.new_upload(concat=final_of(empty, empty))

    head = await tus.head(final)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "0"
    assert tus.stored_bytes(final) == b""


# -- what a final upload must not name -------------------------------------------------------------


async def test_a_final_upload_with_upload_length_is_400(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")

    response = await tus.create(3, concat=final_of(part))

    assert_error(response, 400)


async def test_an_unknown_partial_is_404(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")

    response = await tus.create(concat=final_of(part, tus.endpoint + "0123456789abcdef0123456789abcdef"))

    assert_error(response, 404)


async def test_a_url_on_another_host_is_400(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")

    response = await tus.create(concat=final_of("http://elsewhere.example" + relative(part)))

    assert_error(response, 400)


async def test_a_url_outside_the_base_path_is_400(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")

    response = await tus.create(concat=final_of("/other/" + upload_id_of(part)))

    assert_error(response, 400)


async def test_a_malformed_url_is_400(tus: TusClient) -> None:
    response = await tus.create(concat=final_of("http://[::1/files/0123456789abcdef"))

    assert_error(response, 400)


async def test_a_non_partial_upload_named_in_a_final_is_400(tus: TusClient) -> None:
    plain = await tus.uploaded(b"abc")

    response = await tus.create(concat=final_of(plain))

    assert_error(response, 400)


async def test_a_final_upload_named_in_a_final_is_400(tus: TusClient) -> None:
    part = await tus.uploaded(b"abc", concat="partial")
    final = await tus.new_upload(concat=final_of(part))

    response = await tus.create(concat=final_of(final))

    assert_error(response, 400)


async def test_a_final_upload_naming_no_partial_is_400(tus: TusClient) -> None:
    response = await tus.create(concat="final;")

    assert_error(response, 400)


# -- concatenation-unfinished -----------------------------------------------------------------------


async def test_a_final_upload_may_be_created_before_its_partials_finish(tus: TusClient) -> None:
    first = await tus.new_upload(6, concat="partial")
    second = await tus.new_upload(5, concat="partial")

    response = await tus.create(concat=final_of(first, second))

    assert response.status_code == 201


async def test_head_on_an_unfinished_final_upload_has_no_upload_offset(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.new_upload(5, concat="partial")
    final = await tus.new_upload(concat=final_of(first, second))

    response = await tus.head(final)

    assert response.status_code == 200
    assert "Upload-Offset" not in response.headers
    assert response.headers["Upload-Concat"] == final_of(first, second)


async def test_an_unfinished_final_upload_completes_when_its_last_partial_does(tus: TusClient) -> None:
    first = await tus.new_upload(6, concat="partial")
    second = await tus.new_upload(5, concat="partial")
    final = await tus.new_upload(concat=final_of(first, second))

    await tus.patch(second, b"world", offset=0)
    await tus.patch(first, b"hello ", offset=0)

    head = await tus.head(final)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "11"
    assert tus.stored_bytes(final) == b"hello world"


async def test_an_unfinished_final_upload_stays_unfinished_while_one_partial_is_missing(tus: TusClient) -> None:
    first = await tus.new_upload(6, concat="partial")
    second = await tus.new_upload(5, concat="partial")
    final = await tus.new_upload(concat=final_of(first, second))

    await tus.patch(first, b"hello ", offset=0)
    await tus.patch(second, b"wor", offset=0)

    assert "Upload-Offset" not in (await tus.head(final)).headers
