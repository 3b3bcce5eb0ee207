"""Splitting a file into the ranges of partial uploads for --parallel."""

from __future__ import annotations

from tusd_py.client.parts import split


def test_ranges_cover_the_file_in_order_and_evenly() -> None:
    assert split(10, 3) == [(0, 4), (4, 3), (7, 3)]


def test_one_part_is_the_whole_file() -> None:
    assert split(1000, 1) == [(0, 1000)]


def test_a_file_smaller_than_the_parts_gets_one_byte_each_and_no_empty_part() -> None:
    assert split(2, 3) == [(0, 1), (1, 1)]


def test_an_empty_file_is_one_empty_range() -> None:
    assert split(0, 4) == [(0, 0)]
