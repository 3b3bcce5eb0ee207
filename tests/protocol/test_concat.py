"""Upload-Concat: `partial`, or `final;<url> <url> …` naming partial uploads in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.protocol.concat import format_concat, parse_concat
from tusd_py.protocol.errors import TusError


def test_partial_is_a_partial_upload() -> None:
    concat = parse_concat("partial")

    assert concat.is_partial
    assert concat.partial_urls == ()


def test_final_names_its_partials_in_order() -> None:
    concat = parse_concat("final;/files/b https://tus.example/files/a /files/b")

    assert concat.is_final
    assert concat.partial_urls == ("/files/b", "https://tus.example/files/a", "/files/b")


def test_extra_spaces_between_urls_are_ignored() -> None:
    assert parse_concat("final;/files/a  /files/b ").partial_urls == ("/files/a", "/files/b")


@pytest.mark.parametrize("value", ["", "partial;", "final", "final;", "final; ", "whole;/files/a", "Partial"])
def test_anything_else_is_400(value: str) -> None:
    with pytest.raises(TusError) as error:
        parse_concat(value)

    assert error.value.status == 400


def test_format_gives_back_what_parse_reads() -> None:
    urls = ["https://tus.example/files/a", "https://tus.example/files/b"]

    assert parse_concat(format_concat(True, urls)).partial_urls == tuple(urls)
    assert parse_concat(format_concat(False, [])).is_partial


@given(st.text(max_size=80))
def test_parse_gives_partial_or_named_partials_or_a_400_tus_error(value: str) -> None:
    try:
        concat = parse_concat(value)
    except TusError as error:
        assert error.status == 400
        return
    assert concat.is_partial or (concat.partial_urls and all(" " not in url for url in concat.partial_urls))
