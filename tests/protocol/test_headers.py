"""Strict header reading: one value per header, non-negative decimal integers below 2^63, HTTP dates."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.request_headers import headers
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import http_date, media_type, optional_uint, parse_uint


@pytest.mark.parametrize(("text", "number"), [("0", 0), ("5", 5), ("007", 7), (str(2**63 - 1), 2**63 - 1)])
def test_parse_uint_reads_non_negative_decimals(text: str, number: int) -> None:
    assert parse_uint("Upload-Length", text) == number


@pytest.mark.parametrize(
    "text",
    ["", "+5", "-5", "-0", " 5", "5 ", "1 0", "0x10", "ff", "1e3", "5.0", "\u0665", "\uff15", str(2**63), "9" * 20],
)
def test_parse_uint_rejects_anything_else_with_400(text: str) -> None:
    with pytest.raises(TusError) as error:
        parse_uint("Upload-Length", text)

    assert error.value.status == 400
    assert error.value.details["header"] == "Upload-Length"


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_parse_uint_reads_back_every_int64(number: int) -> None:
    assert parse_uint("Upload-Offset", str(number)) == number


@given(st.integers(min_value=2**63, max_value=2**80))
def test_parse_uint_rejects_every_number_past_int64(number: int) -> None:
    with pytest.raises(TusError):
        parse_uint("Upload-Offset", str(number))


@given(st.text())
def test_parse_uint_raises_nothing_but_a_400_tus_error(text: str) -> None:
    try:
        number = parse_uint("Upload-Offset", text)
    except TusError as error:
        assert error.status == 400
    else:
        assert 0 <= number < 2**63
        assert text == str(number).rjust(len(text), "0")


def test_a_repeated_header_is_400() -> None:
    repeated = headers(("Upload-Length", "5"), ("Upload-Length", "5"))

    with pytest.raises(TusError) as error:
        repeated.get("Upload-Length")

    assert error.value.status == 400


def test_header_names_are_case_insensitive() -> None:
    assert headers(("UPLOAD-LENGTH", "5")).get("upload-length") == "5"


def test_an_absent_optional_uint_is_none() -> None:
    assert optional_uint(headers(), "Upload-Length") is None


def test_a_present_optional_uint_is_parsed_strictly() -> None:
    with pytest.raises(TusError):
        optional_uint(headers(upload_length="+1"), "Upload-Length")


def test_http_date_is_an_imf_fixdate() -> None:
    text = http_date(784111777)

    assert text == "Sun, 06 Nov 1994 08:49:37 GMT"


@given(st.integers(min_value=0, max_value=253402300799))
def test_http_date_reads_back_to_the_same_second(timestamp: int) -> None:
    text = http_date(timestamp)

    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT", text)
    assert parsedate_to_datetime(text).timestamp() == timestamp


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/offset+octet-stream", "application/offset+octet-stream"),
        ("Application/Offset+Octet-Stream; charset=x", "application/offset+octet-stream"),
        (None, ""),
        ("", ""),
    ],
)
def test_media_type_ignores_case_and_parameters(content_type: str | None, expected: str) -> None:
    assert media_type(content_type) == expected
