"""RFC 9110 byte ranges (section 14) and the conditional requests that guard them (section 13), as pure decisions."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ranges import MAX_RANGES, ByteRange, is_not_modified, parse_range, range_is_current

ETAG = '"0123456789abcdef"'
MODIFIED = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's own example date
IMF_DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
RFC850_DATE = "Sunday, 06-Nov-94 08:49:37 GMT"
ASCTIME_DATE = "Sun Nov  6 08:49:37 1994"
HOUR = 3600.0


def spans(ranges: list[ByteRange] | None) -> list[tuple[int, int]] | None:
    return None if ranges is None else [(r.start, r.last) for r in ranges]


def unsatisfiable(header: str, size: int) -> TusError:
    with pytest.raises(TusError) as error:
        parse_range(header, size)
    return error.value


# -- one range ---------------------------------------------------------------------------------------


def test_an_int_range_is_first_to_last_inclusive() -> None:
    assert spans(parse_range("bytes=0-499", 10_000)) == [(0, 499)]


def test_a_one_byte_range() -> None:
    assert spans(parse_range("bytes=5-5", 10)) == [(5, 5)]


def test_an_open_range_runs_to_the_end() -> None:
    assert spans(parse_range("bytes=9500-", 10_000)) == [(9500, 9999)]


def test_a_last_position_past_the_end_is_clipped_to_the_end() -> None:
    assert spans(parse_range("bytes=500-99999", 1000)) == [(500, 999)]


def test_a_suffix_range_is_the_last_n_bytes() -> None:
    assert spans(parse_range("bytes=-500", 10_000)) == [(9500, 9999)]


def test_a_suffix_longer_than_the_file_is_the_whole_file() -> None:
    assert spans(parse_range("bytes=-5000", 100)) == [(0, 99)]


def test_the_range_unit_is_case_insensitive() -> None:
    assert spans(parse_range("Bytes=0-1", 10)) == [(0, 1)]


def test_whitespace_around_ranges_is_allowed() -> None:
    assert spans(parse_range("bytes= 0-1 , 4-5 ", 10)) == [(0, 1), (4, 5)]


def test_empty_list_elements_are_ignored() -> None:
    assert spans(parse_range("bytes=0-1,,4-5,", 10)) == [(0, 1), (4, 5)]


def test_a_byte_range_knows_its_length_and_content_range() -> None:
    byte_range = ByteRange(10, 19)

    assert byte_range.length == 10
    assert byte_range.content_range(100) == "bytes 10-19/100"


# -- several ranges ----------------------------------------------------------------------------------


def test_disjoint_ranges_are_kept_in_order() -> None:
    assert spans(parse_range("bytes=0-9,20-29,-5", 100)) == [(0, 9), (20, 29), (95, 99)]


def test_ranges_out_of_order_are_sorted() -> None:
    assert spans(parse_range("bytes=50-59,0-9", 100)) == [(0, 9), (50, 59)]


def test_overlapping_ranges_are_coalesced() -> None:
    assert spans(parse_range("bytes=0-50,40-60", 100)) == [(0, 60)]


def test_adjacent_ranges_are_coalesced() -> None:
    assert spans(parse_range("bytes=0-9,10-19", 100)) == [(0, 19)]


def test_a_range_inside_another_is_absorbed() -> None:
    assert spans(parse_range("bytes=0-99,10-20", 100)) == [(0, 99)]


def test_a_suffix_overlapping_an_int_range_is_coalesced() -> None:
    assert spans(parse_range("bytes=80-89,-15", 100)) == [(80, 99)]


def test_unsatisfiable_ranges_among_satisfiable_ones_are_dropped() -> None:
    assert spans(parse_range("bytes=0-4,500-600", 100)) == [(0, 4)]


def test_as_many_ranges_as_allowed_are_served() -> None:
    header = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(MAX_RANGES))

    assert spans(parse_range(header, 1000)) == [(2 * i, 2 * i) for i in range(MAX_RANGES)]


def test_too_many_ranges_are_ignored() -> None:
    header = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(MAX_RANGES + 1))

    assert parse_range(header, 1000) is None


# -- ignored: the whole representation is sent --------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["items=0-1", "none", "bits=0-7", "bytes 0-1", "bytes:0-1"],
    ids=["other unit", "none", "bits", "space instead of =", "colon instead of ="],
)
def test_another_unit_is_ignored(header: str) -> None:
    assert parse_range(header, 10) is None


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=   ",
        "bytes=,",
        "bytes=-",
        "bytes=abc",
        "bytes=1",
        "bytes=1-2-3",
        "bytes=5-1",
        "bytes=0-1,5-1",
        "bytes=0-1,x",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=1 - 2",
        "bytes=-1-2",
        "bytes=1.5-2",
        "bytes=\u0661-\u0662",
    ],
    ids=[
        "empty",
        "unit alone",
        "no ranges",
        "blank ranges",
        "only a comma",
        "dash alone",
        "letters",
        "no dash",
        "two dashes",
        "last before first",
        "one range backwards",
        "one range malformed",
        "plus sign",
        "hexadecimal",
        "spaces inside a range",
        "negative first",
        "decimal",
        "non-ASCII digits",
    ],
)
def test_a_malformed_header_is_ignored(header: str) -> None:
    assert parse_range(header, 10) is None


def outcome(header: str, size: int) -> list[tuple[int, int]] | int | None:
    """The ranges served, None when the header is ignored, or the error status."""
    try:
        return spans(parse_range(header, size))
    except TusError as error:
        return error.status


HUGE = "1" * 5000  # past Python's 4,300-digit limit on int(str); RFC 9110 puts no bound on 1*DIGIT


@pytest.mark.parametrize(
    ("header", "answer"),
    [(f"bytes={HUGE}-", 416), (f"bytes=-{HUGE}", [(0, 9)]), (f"bytes=0-{HUGE}", [(0, 9)])],
    ids=["first position: past the end", "suffix: the whole file", "last position: clipped"],
)
def test_a_position_with_thousands_of_digits_is_answered_or_ignored(header: str, answer: object) -> None:
    assert outcome(header, 10) in (answer, None)


# -- unsatisfiable: 416 with Content-Range: bytes */N ----------------------------------------------------


def test_a_first_position_at_the_end_is_416() -> None:
    error = unsatisfiable("bytes=10-", 10)

    assert error.status == 416
    assert error.headers["Content-Range"] == "bytes */10"


def test_a_first_position_past_the_end_is_416() -> None:
    error = unsatisfiable("bytes=100-200", 10)

    assert error.status == 416
    assert error.headers["Content-Range"] == "bytes */10"


def test_a_zero_suffix_is_416() -> None:
    assert unsatisfiable("bytes=-0", 10).headers["Content-Range"] == "bytes */10"


def test_several_ranges_none_satisfiable_is_416() -> None:
    assert unsatisfiable("bytes=10-20,30-,-0", 10).status == 416


def test_the_416_error_names_the_size() -> None:
    error = unsatisfiable("bytes=100-", 10)

    assert error.code == "range_not_satisfiable"
    assert error.details == {"size": 10}


# -- a zero-length file ------------------------------------------------------------------------------


def test_an_int_range_of_an_empty_file_is_416() -> None:
    assert unsatisfiable("bytes=0-", 0).headers["Content-Range"] == "bytes */0"


def test_a_suffix_range_of_an_empty_file_is_ignored() -> None:
    # RFC 9110 14.1.1: a suffix-range with a non-zero suffix-length is satisfiable, so no 416; an empty
    # representation has no byte range to describe, so the whole (empty) representation is sent instead.
    assert parse_range("bytes=-5", 0) is None


def test_a_malformed_header_on_an_empty_file_is_ignored() -> None:
    assert parse_range("bytes=abc", 0) is None


# -- properties ----------------------------------------------------------------------------------------


@st.composite
def range_headers(draw: st.DrawFn) -> tuple[str, int]:
    size = draw(st.integers(min_value=1, max_value=500))
    specs = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.sampled_from(["int", "open", "suffix"]))
        first = draw(st.integers(min_value=0, max_value=600))
        if kind == "int":
            specs.append(f"{first}-{first + draw(st.integers(min_value=0, max_value=600))}")
        elif kind == "open":
            specs.append(f"{first}-")
        else:
            specs.append(f"-{draw(st.integers(min_value=1, max_value=600))}")
    return "bytes=" + ",".join(specs), size


@given(range_headers())
def test_served_ranges_are_sorted_disjoint_and_inside_the_file(case: tuple[str, int]) -> None:
    header, size = case
    try:
        ranges = parse_range(header, size)
    except TusError as error:
        assert error.status == 416
        return
    assert ranges
    for byte_range in ranges:
        assert 0 <= byte_range.start <= byte_range.last < size
    for before, after in itertools.pairwise(ranges):
        assert before.last + 1 < after.start


@given(range_headers())
def test_served_ranges_cover_exactly_the_requested_bytes(case: tuple[str, int]) -> None:
    header, size = case
    wanted: set[int] = set()
    for spec in header.removeprefix("bytes=").split(","):
        first, last = spec.split("-")
        if not first:
            wanted.update(range(max(0, size - int(last)), size))
        else:
            wanted.update(range(int(first), min(int(last), size - 1) + 1 if last else size))
    try:
        ranges = parse_range(header, size)
    except TusError:
        assert not wanted
        return
    assert ranges is not None
    assert {byte for r in ranges for byte in range(r.start, r.last + 1)} == wanted


@given(st.text(max_size=60), st.integers(min_value=0, max_value=1000))
def test_any_header_is_ranges_ignored_or_a_416(header: str, size: int) -> None:
    try:
        parse_range(header, size)
    except TusError as error:
        assert error.status == 416


# -- If-None-Match and If-Modified-Since: 304 ---------------------------------------------------------------


def test_no_condition_is_not_a_304() -> None:
    assert not is_not_modified(None, None, ETAG, MODIFIED)


def test_if_none_match_with_the_etag_is_a_304() -> None:
    assert is_not_modified(ETAG, None, ETAG, MODIFIED)


def test_if_none_match_with_another_etag_is_not_a_304() -> None:
    assert not is_not_modified('"something-else"', None, ETAG, MODIFIED)


def test_if_none_match_with_the_etag_in_a_list_is_a_304() -> None:
    assert is_not_modified(f'"a", {ETAG} , "b"', None, ETAG, MODIFIED)


def test_if_none_match_star_is_a_304() -> None:
    assert is_not_modified("*", None, ETAG, MODIFIED)


def test_if_none_match_compares_weakly() -> None:
    assert is_not_modified("W/" + ETAG, None, ETAG, MODIFIED)


def test_if_none_match_without_quotes_does_not_match() -> None:
    assert not is_not_modified(ETAG.strip('"'), None, ETAG, MODIFIED)


def test_if_modified_since_the_last_modification_is_a_304() -> None:
    assert is_not_modified(None, IMF_DATE, ETAG, MODIFIED)


def test_if_modified_since_a_later_date_is_a_304() -> None:
    assert is_not_modified(None, formatdate(MODIFIED + HOUR, usegmt=True), ETAG, MODIFIED)


def test_if_modified_since_an_earlier_date_is_not_a_304() -> None:
    assert not is_not_modified(None, formatdate(MODIFIED - HOUR, usegmt=True), ETAG, MODIFIED)


def test_if_modified_since_ignores_fractions_of_a_second() -> None:
    # Last-Modified is sent in whole seconds, so a client echoing it back has the current copy.
    assert is_not_modified(None, IMF_DATE, ETAG, MODIFIED + 0.75)


@pytest.mark.parametrize("date", [RFC850_DATE, ASCTIME_DATE], ids=["rfc850", "asctime"])
def test_if_modified_since_accepts_the_obsolete_date_formats(date: str) -> None:
    assert is_not_modified(None, date, ETAG, MODIFIED)


@pytest.fixture
def local_time_five_hours_behind_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_five_hours_behind_utc")
@pytest.mark.parametrize("date", [IMF_DATE, RFC850_DATE, ASCTIME_DATE], ids=["imf", "rfc850", "asctime"])
def test_if_modified_since_is_read_as_gmt_whatever_the_local_time_zone(date: str) -> None:
    # RFC 9110 5.6.7: every HTTP-date format, asctime included, is in GMT.
    assert not is_not_modified(None, date, ETAG, MODIFIED + HOUR)


@pytest.mark.parametrize("date", ["yesterday", "", "Sun, 99 Nov 1994 08:49:37 GMT", "0"])
def test_an_invalid_if_modified_since_is_ignored(date: str) -> None:
    assert not is_not_modified(None, date, ETAG, MODIFIED)


def test_if_none_match_wins_over_if_modified_since() -> None:
    # RFC 9110 13.1.3: If-Modified-Since is ignored when If-None-Match is present.
    assert not is_not_modified('"something-else"', IMF_DATE, ETAG, MODIFIED)


# -- If-Range --------------------------------------------------------------------------------------------


def test_without_if_range_the_range_is_honoured() -> None:
    assert range_is_current(None, ETAG, MODIFIED)


def test_if_range_with_the_etag_honours_the_range() -> None:
    assert range_is_current(ETAG, ETAG, MODIFIED)


def test_if_range_with_another_etag_ignores_the_range() -> None:
    assert not range_is_current('"something-else"', ETAG, MODIFIED)


def test_if_range_with_a_weak_etag_ignores_the_range() -> None:
    # RFC 9110 13.1.5: If-Range uses the strong comparison, which a weak tag never passes.
    assert not range_is_current("W/" + ETAG, ETAG, MODIFIED)


def test_if_range_with_the_last_modified_date_honours_the_range() -> None:
    assert range_is_current(IMF_DATE, ETAG, MODIFIED)


def test_if_range_with_a_later_date_ignores_the_range() -> None:
    # Unlike If-Modified-Since, If-Range wants an exact match.
    assert not range_is_current(formatdate(MODIFIED + HOUR, usegmt=True), ETAG, MODIFIED)


def test_if_range_with_an_earlier_date_ignores_the_range() -> None:
    assert not range_is_current(formatdate(MODIFIED - HOUR, usegmt=True), ETAG, MODIFIED)


def test_if_range_with_an_invalid_value_ignores_the_range() -> None:
    assert not range_is_current("not a date", ETAG, MODIFIED)
