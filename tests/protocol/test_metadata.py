"""Upload-Metadata: `key base64value` pairs, a key alone allowed, parsed strictly and formatted back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.metadata import format_metadata, parse_metadata

KEY_CHARACTERS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=",")
keys = st.text(KEY_CHARACTERS, min_size=1, max_size=20)
values = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


def test_pairs_are_decoded() -> None:
    assert parse_metadata("filename d29ybGQucGRm,filetype YXBwbGljYXRpb24vcGRm") == {
        "filename": "world.pdf",
        "filetype": "application/pdf",
    }


def test_a_key_alone_has_an_empty_value() -> None:
    assert parse_metadata("filename d29ybGQucGRm,is_confidential") == {"filename": "world.pdf", "is_confidential": ""}


@pytest.mark.parametrize("header", ["", " ", "   "])
def test_an_empty_header_is_no_metadata(header: str) -> None:
    assert parse_metadata(header) == {}


def test_spaces_around_pairs_are_allowed() -> None:
    assert parse_metadata("a YQ==, b Yg==") == {"a": "a", "b": "b"}


@pytest.mark.parametrize(
    "header",
    [
        "name YQ==,name Yg==",
        "name !!!!",
        "name YQ=",
        "name YQ",
        "name YQ== Yg==",
        "name YQ==,,type Yg==",
        "n\u00e4me YQ==",
        "na\x01me YQ==",
        "a  YQ==",
    ],
    ids=[
        "duplicate key",
        "not base64",
        "bad padding",
        "missing padding",
        "three parts",
        "empty pair",
        "non-ASCII key",
        "control character in key",
        "two spaces",
    ],
)
def test_invalid_metadata_is_400(header: str) -> None:
    with pytest.raises(TusError) as error:
        parse_metadata(header)

    assert error.value.status == 400


def test_more_pairs_than_allowed_is_400() -> None:
    with pytest.raises(TusError) as error:
        parse_metadata("a,b,c", max_pairs=2)

    assert error.value.status == 400


def test_an_empty_value_is_formatted_as_a_key_alone() -> None:
    assert format_metadata({"is_confidential": ""}) == "is_confidential"


@given(st.dictionaries(keys, values, max_size=10))
def test_format_then_parse_gives_back_the_metadata(metadata: dict[str, str]) -> None:
    assert parse_metadata(format_metadata(metadata)) == metadata


@given(st.text(max_size=80))
def test_parse_gives_valid_keys_or_a_400_tus_error(header: str) -> None:
    try:
        metadata = parse_metadata(header)
    except TusError as error:
        assert error.status == 400
        return
    for key in metadata:
        assert key.isascii() and key.isprintable() and " " not in key and "," not in key
