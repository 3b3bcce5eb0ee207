"""Human units in settings: durations (90s, 15m, 24h, 7d) and sizes (5GiB, 100MB)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.units import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("24h", 86400),
        ("7d", 604800),
        ("250ms", 0.25),
        ("10", 10),
        ("1.5h", 5400),
        ("2H", 7200),
    ],
)
def test_durations_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "abc", "-5s", "5x", "5 minutes", "1e3", "h5"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("5GiB", 5 * 2**30),
        ("100MB", 100 * 10**6),
        ("512KiB", 512 * 2**10),
        ("1kb", 1000),
        ("2TiB", 2 * 2**40),
        ("1024", 1024),
        ("7B", 7),
    ],
)
def test_sizes_read_as_bytes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GiB", "abc", "-1", "5XB", "5 gigabytes"])
def test_anything_else_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@given(st.integers(min_value=0, max_value=10**7))
def test_a_formatted_duration_reads_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=2**50))
def test_a_formatted_size_reads_back(size: int) -> None:
    assert parse_size(format_size(size)) == size


@given(st.text(max_size=20))
def test_a_duration_is_a_non_negative_number_or_a_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert seconds >= 0


@given(st.text(max_size=20))
def test_a_size_is_a_non_negative_number_or_a_value_error(text: str) -> None:
    try:
        size = parse_size(text)
    except ValueError:
        return
    assert size >= 0
