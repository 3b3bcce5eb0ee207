"""Deciding a PATCH: content type, offset, deferred length and how many bytes may still come."""

from __future__ import annotations

import pytest

from tests.protocol.request_headers import headers
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.patch import (
    AppendRequest,
    has_offset_body,
    parse_append,
    plan_append,
)

OFFSET_STREAM = "application/offset+octet-stream"


def upload(size: int | None, offset: int = 0, **fields: object) -> UploadInfo:
    return UploadInfo(id="0123456789abcdef", size=size, offset=offset, **fields)  # type: ignore[arg-type]


def error_of(info: UploadInfo, request: AppendRequest, max_size: int | None = None) -> TusError:
    with pytest.raises(TusError) as error:
        plan_append(info, request, max_size=max_size)
    return error.value


# -- reading the headers ----------------------------------------------------------------------------


def test_a_patch_gives_offset_length_checksum_and_content_length() -> None:
    request = parse_append(
        headers(
            content_type=OFFSET_STREAM,
            upload_offset=3,
            upload_length=10,
            upload_checksum="md5 AAAAAAAAAAAAAAAAAAAAAA==",
            content_length=4,
        )
    )

    assert (request.offset, request.declared_length, request.content_length) == (3, 10, 4)
    assert request.checksum is not None and request.checksum.algorithm == "md5"


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
def test_a_body_of_another_content_type_is_415(content_type: str | None) -> None:
    fields = {"upload_offset": 0} | ({"content_type": content_type} if content_type else {})

    with pytest.raises(TusError) as error:
        parse_append(headers(**fields))

    assert error.value.status == 415


def test_a_content_type_with_parameters_is_an_offset_body() -> None:
    assert has_offset_body(headers(content_type="application/offset+octet-stream; charset=binary"))


def test_a_patch_without_upload_offset_is_400() -> None:
    with pytest.raises(TusError) as error:
        parse_append(headers(content_type=OFFSET_STREAM))

    assert error.value.status == 400


def test_a_post_with_data_starts_at_offset_0_without_upload_offset() -> None:
    assert parse_append(headers(content_type=OFFSET_STREAM), offset=0).offset == 0


@pytest.mark.parametrize("field", ["upload_offset", "upload_length"])
def test_integer_headers_are_strict(field: str) -> None:
    with pytest.raises(TusError) as error:
        parse_append(headers(content_type=OFFSET_STREAM, **({"upload_offset": 0} | {field: "+1"})))

    assert error.value.status == 400


# -- deciding ---------------------------------------------------------------------------------------


def test_a_matching_offset_may_send_the_remaining_bytes() -> None:
    plan = plan_append(upload(10, offset=4), AppendRequest(offset=4), max_size=None)

    assert plan.limit == 6
    assert plan.declare_length is None


def test_another_offset_is_409_telling_the_current_one() -> None:
    error = error_of(upload(10, offset=4), AppendRequest(offset=3))

    assert error.status == 409
    assert error.headers["Upload-Offset"] == "4"


def test_a_content_length_above_the_remaining_bytes_is_413() -> None:
    assert error_of(upload(10, offset=4), AppendRequest(offset=4, content_length=7)).status == 413


def test_a_content_length_equal_to_the_remaining_bytes_is_accepted() -> None:
    assert plan_append(upload(10, offset=4), AppendRequest(offset=4, content_length=6), max_size=None).limit == 6


def test_a_finished_upload_takes_an_empty_patch_at_its_end() -> None:
    assert plan_append(upload(5, offset=5), AppendRequest(offset=5, content_length=0), max_size=None).limit == 0


def test_a_final_upload_is_403() -> None:
    assert error_of(upload(5, offset=5, is_final=True), AppendRequest(offset=5)).status == 403


def test_a_deferred_upload_without_a_maximum_has_no_limit() -> None:
    assert plan_append(upload(None, offset=4), AppendRequest(offset=4), max_size=None).limit is None


def test_a_deferred_upload_is_bounded_by_the_maximum() -> None:
    assert plan_append(upload(None, offset=4), AppendRequest(offset=4), max_size=10).limit == 6


def test_a_declared_length_is_set_and_bounds_the_patch() -> None:
    plan = plan_append(upload(None, offset=4), AppendRequest(offset=4, declared_length=8), max_size=None)

    assert plan.declare_length == 8
    assert plan.limit == 4


def test_a_declared_length_equal_to_the_offset_finishes_with_an_empty_patch() -> None:
    plan = plan_append(upload(None, offset=4), AppendRequest(offset=4, declared_length=4), max_size=None)

    assert (plan.declare_length, plan.limit) == (4, 0)


def test_a_declared_length_below_the_offset_is_400() -> None:
    assert error_of(upload(None, offset=4), AppendRequest(offset=4, declared_length=3)).status == 400


def test_a_declared_length_above_the_maximum_is_400() -> None:
    assert error_of(upload(None), AppendRequest(offset=0, declared_length=11), max_size=10).status == 400


def test_a_declared_length_for_an_upload_with_a_length_is_400() -> None:
    assert error_of(upload(10), AppendRequest(offset=0, declared_length=10)).status == 400
