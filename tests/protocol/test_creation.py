"""Deciding a POST: exactly one of Upload-Length or Upload-Defer-Length: 1, within the maximum, with metadata."""

from __future__ import annotations

import pytest

from tests.protocol.request_headers import headers
from tusd_py.protocol.creation import parse_creation
from tusd_py.protocol.errors import TusError


def test_upload_length_gives_the_length() -> None:
    creation = parse_creation(headers(upload_length=5), max_size=None)

    assert creation.length == 5
    assert not creation.deferred


def test_defer_length_gives_no_length() -> None:
    creation = parse_creation(headers(upload_defer_length=1), max_size=None)

    assert creation.length is None
    assert creation.deferred


@pytest.mark.parametrize(
    "request_headers",
    [
        headers(),
        headers(upload_length=5, upload_defer_length=1),
        headers(upload_defer_length=0),
        headers(upload_defer_length="true"),
        headers(upload_length="-1"),
        headers(("Upload-Length", "5"), ("Upload-Length", "5")),
    ],
    ids=["neither", "both", "defer 0", "defer true", "negative length", "repeated length"],
)
def test_a_creation_without_exactly_one_valid_length_is_400(request_headers: object) -> None:
    with pytest.raises(TusError) as error:
        parse_creation(request_headers, max_size=None)  # type: ignore[arg-type]

    assert error.value.status == 400


def test_a_length_above_the_maximum_is_413() -> None:
    with pytest.raises(TusError) as error:
        parse_creation(headers(upload_length=11), max_size=10)

    assert error.value.status == 413


def test_a_length_equal_to_the_maximum_is_accepted() -> None:
    assert parse_creation(headers(upload_length=10), max_size=10).length == 10


def test_metadata_is_decoded_and_kept_as_received() -> None:
    creation = parse_creation(headers(upload_length=5, upload_metadata="b Yg==, a"), max_size=None)

    assert creation.metadata == {"b": "b", "a": ""}
    assert creation.raw_metadata == "b Yg==, a"


def test_without_metadata_there_is_none() -> None:
    creation = parse_creation(headers(upload_length=5), max_size=None)

    assert creation.metadata == {}
    assert creation.raw_metadata is None


def test_too_many_metadata_pairs_is_400() -> None:
    with pytest.raises(TusError) as error:
        parse_creation(headers(upload_length=5, upload_metadata="a,b,c"), max_size=None, max_metadata_pairs=2)

    assert error.value.status == 400


def test_a_partial_upload_needs_a_length_like_any_upload() -> None:
    with pytest.raises(TusError) as error:
        parse_creation(headers(upload_concat="partial"), max_size=None)

    assert error.value.status == 400


def test_a_partial_upload_is_marked_partial() -> None:
    creation = parse_creation(headers(upload_length=5, upload_concat="partial"), max_size=None)

    assert creation.concat is not None and creation.concat.is_partial


def test_a_final_upload_takes_no_length() -> None:
    creation = parse_creation(headers(upload_concat="final;/files/a /files/b"), max_size=None)

    assert creation.length is None
    assert creation.concat is not None and creation.concat.partial_urls == ("/files/a", "/files/b")


@pytest.mark.parametrize("length_header", [{"upload_length": 5}, {"upload_defer_length": 1}])
def test_a_final_upload_with_a_length_is_400(length_header: dict[str, int]) -> None:
    with pytest.raises(TusError) as error:
        parse_creation(headers(upload_concat="final;/files/a", **length_header), max_size=None)

    assert error.value.status == 400
