"""POST: creating uploads, their length rules, Location, Upload-Metadata and creation-with-upload."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error, raw_headers, upload_id_of

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores

# -- length -----------------------------------------------------------------------------------------


async def test_upload_length_creates_an_upload_of_that_length(tus: TusClient) -> None:
    response = await tus.create(100)

    assert response.status_code == 201
    head = await tus.head(response.headers["Location"])
    assert head.headers["Upload-Length"] == "100"
    assert head.headers["Upload-Offset"] == "0"


async def test_upload_defer_length_creates_an_upload_of_unknown_length(tus: TusClient) -> None:
    response = await tus.create(defer=True)

    assert response.status_code == 201
    head = await tus.head(response.headers["Location"])
    assert head.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in head.headers


async def test_neither_length_nor_defer_length_is_400(tus: TusClient) -> None:
    response = await tus.create()

    assert_error(response, 400)
    assert tus.stored_files() == []


async def test_both_length_and_defer_length_is_400(tus: TusClient) -> None:
    response = await tus.create(10, defer=True)

    assert_error(response, 400)
    assert tus.stored_files() == []


@pytest.mark.parametrize("value", ["0", "2", "true", "yes", "", "1 1"])
async def test_defer_length_other_than_1_is_400(tus: TusClient, value: str) -> None:
    response = await tus.create(headers={"Upload-Defer-Length": value})

    assert_error(response, 400)
    assert tus.stored_files() == []


async def test_length_above_the_maximum_is_413(make_tus: MakeTus) -> None:
    tus = make_tus(max_size=100)

    response = await tus.create(101)

    assert_error(response, 413)
    assert tus.stored_files() == []


async def test_length_equal_to_the_maximum_is_accepted(make_tus: MakeTus) -> None:
    response = await make_tus(max_size=100).create(100)

    assert response.status_code == 201


async def test_upload_length_0_creates_a_finished_upload(tus: TusClient) -> None:
    url = await tus.new_upload(0)

    head = await tus.head(url)
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == "0"
    assert tus.stored_bytes(url) == b""


async def test_upload_length_0_accepts_no_bytes(tus: TusClient) -> None:
    url = await tus.new_upload(0)

    response = await tus.patch(url, b"x", offset=0)

    assert_error(response, 413)
    assert tus.stored_bytes(url) == b""


# -- Location ---------------------------------------------------------------------------------------


async def test_location_is_an_absolute_url_under_the_endpoint(tus: TusClient) -> None:
    response = await tus.create(5)

    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("http", "testserver")
    assert location.path.startswith("/files/")
    assert upload_id_of(response.headers["Location"])


async def test_each_upload_gets_its_own_location(tus: TusClient) -> None:
    first = await tus.new_upload(5)
    second = await tus.new_upload(5)

    assert first != second


async def test_the_endpoint_without_trailing_slash_creates_too(tus: TusClient) -> None:
    response = await tus.http.post("/files", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5"})

    assert response.status_code == 201
    assert urlsplit(response.headers["Location"]).path.startswith("/files/")


async def test_the_upload_is_stored_in_tusd_layout(tus: TusClient) -> None:
    url = await tus.new_upload(5)

    info = tus.stored_info(url)
    assert tus.stored_bytes(url) == b""
    assert info["ID"] == upload_id_of(url)
    assert info["Size"] == 5
    assert info["SizeIsDeferred"] is False


# -- Upload-Metadata --------------------------------------------------------------------------------


async def test_metadata_pairs_are_stored_decoded(tus: TusClient) -> None:
    url = await tus.new_upload(
        5, metadata="filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,filetype YXBwbGljYXRpb24vcGRm"
    )

    assert tus.stored_info(url)["MetaData"] == {
        "filename": "world_domination_plan.pdf",
        "filetype": "application/pdf",
    }


async def test_a_metadata_key_alone_is_allowed_with_an_empty_value(tus: TusClient) -> None:
    url = await tus.new_upload(5, metadata="filename d29ybGQucGRm,is_confidential")

    assert tus.stored_info(url)["MetaData"] == {"filename": "world.pdf", "is_confidential": ""}


async def test_an_empty_metadata_header_is_allowed(tus: TusClient) -> None:
    url = await tus.new_upload(5, metadata="")

    assert tus.stored_info(url)["MetaData"] == {}


async def test_a_metadata_value_may_decode_to_any_text(tus: TusClient) -> None:
    # Uppy sends relativePath as base64 of "null".
    response = await tus.create(5, metadata="relativePath bnVsbA==,name w6nDqQ==")

    assert response.status_code == 201


async def test_head_echoes_the_metadata_header_as_received(tus: TusClient) -> None:
    sent = "b Yg==, a YQ==,flag"
    url = await tus.new_upload(5, metadata=sent)

    head = await tus.head(url)

    assert head.headers["Upload-Metadata"] == sent


INVALID_METADATA = {
    "duplicate key": "name YQ==,name Yg==",
    "value not base64": "name !!!!",
    "value with bad padding": "name YQ=",
    "value with a space inside": "name YQ== Yg==",
    "empty pair": "name YQ==,,type Yg==",
    "non-ASCII key": "n\u00e4me YQ==",
    "control character in key": "na\x01me YQ==",
}


@pytest.mark.parametrize("metadata", INVALID_METADATA.values(), ids=INVALID_METADATA.keys())
async def test_invalid_metadata_is_400(tus: TusClient, metadata: str) -> None:
    response = await tus.http.post(
        tus.endpoint,
        headers=raw_headers(
            ("Tus-Resumable", "1.0.0"), ("Upload-Length", "5"), ("Upload-Metadata", metadata.encode("latin-1"))
        ),
    )

    assert_error(response, 400)
    assert tus.stored_files() == []


async def test_more_metadata_pairs_than_allowed_is_400(make_tus: MakeTus) -> None:
    tus = make_tus(max_metadata_pairs=2)

    response = await tus.create(5, metadata="a YQ==,b Yg==,c Yw==")

    assert_error(response, 400)


# -- creation-with-upload ---------------------------------------------------------------------------


async def test_a_body_sent_with_creation_is_stored(tus: TusClient) -> None:
    response = await tus.create(11, body=b"hello")

    assert response.status_code == 201
    assert tus.stored_bytes(response.headers["Location"]) == b"hello"


async def test_the_201_of_a_creation_with_upload_carries_upload_offset(tus: TusClient) -> None:
    response = await tus.create(11, body=b"hello")

    assert response.headers["Upload-Offset"] == "5"


async def test_a_creation_with_the_whole_body_finishes_the_upload(tus: TusClient) -> None:
    response = await tus.create(5, body=b"hello")

    head = await tus.head(response.headers["Location"])
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "5"


async def test_a_creation_with_upload_continues_with_patch(tus: TusClient) -> None:
    url = (await tus.create(11, body=b"hello")).headers["Location"]

    response = await tus.patch(url, b" world", offset=5)

    assert response.status_code == 204
    assert tus.stored_bytes(url) == b"hello world"


async def test_a_zero_length_body_with_the_data_content_type_is_fine(tus: TusClient) -> None:
    response = await tus.create(5, body=b"")

    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "0"


async def test_a_creation_with_upload_may_defer_its_length(tus: TusClient) -> None:
    response = await tus.create(defer=True, body=b"hello")

    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5"
    assert tus.stored_bytes(response.headers["Location"]) == b"hello"


async def test_a_creation_with_expect_100_continue_stores_the_body(tus: TusClient) -> None:
    response = await tus.create(5, body=b"hello", headers={"Expect": "100-continue"})

    assert response.status_code == 201
    assert tus.stored_bytes(response.headers["Location"]) == b"hello"
