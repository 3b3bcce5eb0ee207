"""The S3 layout's pure rules: ids, keys, offsets from part listings, part sizes."""

from __future__ import annotations

import pytest

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ids import is_plain_upload_id, is_valid_upload_id
from tusd_py.storage.s3.layout import Keys, Part, listing_from, part_size_for, split_id

MiB = 2**20


def parts(*sizes_by_number: tuple[int, int]) -> list[Part]:
    return [Part(number, size, f'"{number}"') for number, size in sizes_by_number]


def test_ids_split_at_the_last_plus() -> None:
    assert split_id("abc+def.ghi_jk-1") == ("abc", "def.ghi_jk-1")
    assert is_valid_upload_id("0123abcd+VXBsb2FkIElE.x-y_z")
    assert not is_plain_upload_id("abc+def")  # the file store keeps its strict ids
    for bad in ("abc", "+abc", "abc+", "a/b+c", "abc+d/e", "abc+..", "events+x", "a+b+c"):
        with pytest.raises(TusError):
            split_id(bad)


def test_keys_follow_the_prefix_as_tusd_does() -> None:
    assert Keys("a/b").data("x") == "a/b/x" == Keys("a/b/").data("x")
    assert Keys("").info("x") == "x.info" and Keys("p").tail("x") == "p/x.part"
    assert Keys("p").object_id_of_info("p/x.info") == "x"
    assert Keys("p").object_id_of_info("p/x.part") is None and Keys("p").object_id_of_info("q/x.info") is None


def test_offset_is_the_parts_plus_the_tail() -> None:
    listing = listing_from(parts((1, 5 * MiB), (2, 5 * MiB)), 100, None)
    assert listing.offset == 10 * MiB + 100 and listing.next_number == 3 and listing.stale == []


def test_parts_after_a_gap_are_stale() -> None:
    listing = listing_from(parts((1, 5 * MiB), (3, 5 * MiB), (4, 7)), None, None)
    assert listing.offset == 5 * MiB and listing.stale == [3, 4] and listing.next_number == 2


def test_a_tail_whose_part_exists_is_stale() -> None:
    assert listing_from(parts((1, 5 * MiB)), 300, 1).offset == 5 * MiB
    assert listing_from(parts((1, 5 * MiB)), 300, 2).offset == 5 * MiB + 300
    assert listing_from(parts((1, 5 * MiB)), 300, None).offset == 5 * MiB + 300  # tusd's own `.part`


def test_part_size_grows_to_fit_ten_thousand_parts() -> None:
    assert part_size_for(None, 16 * MiB) == 16 * MiB
    assert part_size_for(100 * 1024 * MiB, 16 * MiB) == 16 * MiB
    assert part_size_for(400 * 1024 * MiB, 16 * MiB) > 40 * MiB


def test_partials_past_five_gibibytes_are_copied_in_equal_ranges() -> None:
    from tusd_py.storage.s3.layout import copy_ranges

    assert copy_ranges(10) == [(0, 10)]
    assert copy_ranges(5 * 2**30) == [(0, 5 * 2**30)]
    ranges = copy_ranges(5 * 2**30 + 1)
    assert len(ranges) == 2 and ranges[0][0] == 0 and ranges[-1][1] == 5 * 2**30 + 1
    assert all(stop - start >= 2**30 for start, stop in ranges)
