"""HEAD: offset retrieval, with everything known about the upload and never cached."""

from __future__ import annotations

import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


async def test_head_is_200_with_upload_offset_0_for_a_new_upload(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "0"


async def test_head_shows_the_offset_after_a_patch(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abcd", offset=0)

    response = await tus.head(url)

    assert response.headers["Upload-Offset"] == "4"


async def test_head_shows_the_offset_of_a_complete_upload(tus: TusClient) -> None:
    url = await tus.uploaded(b"0123456789")

    response = await tus.head(url)

    assert response.headers["Upload-Offset"] == "10"
    assert response.headers["Upload-Length"] == "10"


async def test_head_shows_upload_length(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert response.headers["Upload-Length"] == "10"
    assert "Upload-Defer-Length" not in response.headers


async def test_head_shows_upload_defer_length_while_the_length_is_unknown(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.head(url)

    assert response.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in response.headers
    assert response.headers["Upload-Offset"] == "0"


async def test_head_echoes_upload_metadata(tus: TusClient) -> None:
    url = await tus.new_upload(10, metadata="filename d29ybGQucGRm,is_confidential")

    response = await tus.head(url)

    assert response.headers["Upload-Metadata"] == "filename d29ybGQucGRm,is_confidential"


async def test_head_has_no_upload_metadata_when_none_was_given(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert "Upload-Metadata" not in response.headers


async def test_head_has_no_upload_concat_for_a_plain_upload(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert "Upload-Concat" not in response.headers


async def test_head_is_never_cached(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert response.headers["Cache-Control"] == "no-store"


async def test_head_has_no_upload_expires_when_uploads_do_not_expire(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert "Upload-Expires" not in response.headers


async def test_head_has_no_body(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert response.content == b""


async def test_head_on_an_unknown_upload_is_404_without_upload_offset(tus: TusClient) -> None:
    response = await tus.head(tus.endpoint + "0123456789abcdef0123456789abcdef")

    assert_error(response, 404)
    assert "Upload-Offset" not in response.headers


async def test_head_on_a_terminated_upload_has_no_upload_offset(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.delete(url)

    response = await tus.head(url)

    assert response.status_code in (404, 410)
    assert "Upload-Offset" not in response.headers


async def test_head_on_a_path_that_names_a_store_file_is_404(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.head(url + ".info")

    assert_error(response, 404)
    assert "Upload-Offset" not in response.headers


async def test_head_on_a_reserved_name_is_a_tus_404(tus: TusClient) -> None:
    """`B events` is an event stream for GET only: a HEAD there asks for an upload that cannot exist."""
    response = await tus.head(tus.endpoint + "events")

    assert_error(response, 404)


async def test_with_base_path_root_health_routes_still_answer_head(make_tus: MakeTus) -> None:
    tus = make_tus(base_path="/")

    response = await tus.http.head("/healthz")

    assert response.status_code == 200
