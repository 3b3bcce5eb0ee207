"""GET on an upload: the finished file, with RFC 9110 ranges and validators, served with safe presentation headers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error
from tests.support import tus as live_tus
from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.waiting import eventually, wait_until
from tusd_py.protocol.metadata import format_metadata

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores

DATA = bytes(range(256)) * 4  # 1,024 bytes in which every offset is recognisable
SIZE = len(DATA)
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT"
)
HOUR = 3600.0


def metadata(**pairs: str) -> str:
    return format_metadata(pairs)


async def get(tus: TusClient, url: str, **headers: str) -> httpx.Response:
    """A plain GET, as a browser or curl sends it: no tus headers. `if_range="..."` sends If-Range."""
    return await tus.http.get(url, headers={name.replace("_", "-"): value for name, value in headers.items()})


def shifted(http_date: str, seconds: float) -> str:
    return formatdate(parsedate_to_datetime(http_date).timestamp() + seconds, usegmt=True)


def byteranges(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body (RFC 9110 14.6), checked for exact framing."""
    media_type, _, parameter = response.headers["Content-Type"].partition(";")
    assert media_type == "multipart/byteranges"
    name, _, boundary = parameter.strip().partition("=")
    assert name == "boundary" and boundary
    body = response.content
    delimiter = b"--" + boundary.encode()
    assert body.startswith(delimiter + b"\r\n")
    assert body.endswith(b"\r\n" + delimiter + b"--\r\n")
    inner = body[len(delimiter) + 2 : -(len(delimiter) + 6)]
    parts = []
    for raw in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, separator, content = raw.partition(b"\r\n\r\n")
        assert separator, raw[:200]
        headers = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n"))
        parts.append(({name.lower(): value for name, value in headers.items()}, content))
    return parts


@pytest.fixture
async def url(tus: TusClient) -> str:
    """A finished upload holding DATA, declared as a PNG named cat.png."""
    return await tus.uploaded(DATA, metadata=metadata(filename="cat.png", filetype="image/png"))


async def validators(tus: TusClient, url: str) -> tuple[str, str]:
    response = await get(tus, url)
    return response.headers["ETag"], response.headers["Last-Modified"]


# -- the whole file ----------------------------------------------------------------------------------


async def test_get_on_a_finished_upload_is_200_with_its_bytes(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert response.status_code == 200
    assert response.content == DATA


async def test_get_on_a_finished_upload_has_the_right_content_length(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert response.headers["Content-Length"] == str(SIZE)


async def test_get_on_an_empty_upload_is_200_with_no_bytes(tus: TusClient) -> None:
    url = await tus.new_upload(0)

    response = await get(tus, url)

    assert response.status_code == 200
    assert response.headers["Content-Length"] == "0"
    assert response.content == b""


async def test_get_advertises_byte_ranges(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert response.headers["Accept-Ranges"] == "bytes"


async def test_get_carries_a_strong_etag(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert re.fullmatch(r'"[\x21\x23-\x7e]+"', response.headers["ETag"])


async def test_the_etag_is_the_same_on_every_get(tus: TusClient, url: str) -> None:
    assert (await get(tus, url)).headers["ETag"] == (await get(tus, url)).headers["ETag"]


async def test_two_uploads_with_the_same_bytes_have_different_etags(tus: TusClient, url: str) -> None:
    other = await tus.uploaded(DATA, metadata=metadata(filename="cat.png", filetype="image/png"))

    assert (await get(tus, url)).headers["ETag"] != (await get(tus, other)).headers["ETag"]


async def test_get_carries_last_modified_as_an_http_date(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert IMF_FIXDATE.fullmatch(response.headers["Last-Modified"])


async def test_get_on_a_concatenated_upload_is_the_joined_bytes(tus: TusClient) -> None:
    first = await tus.uploaded(b"hello ", concat="partial")
    second = await tus.uploaded(b"world", concat="partial")
    final = await tus.new_upload(concat=f"final;{urlsplit(first).path} {urlsplit(second).path}")

    response = await get(tus, final)

    assert response.status_code == 200
    assert response.content == b"hello world"


async def test_get_needs_no_tus_resumable_header(tus: TusClient, url: str) -> None:
    response = await tus.http.get(url)

    assert response.status_code == 200


# -- not downloadable ------------------------------------------------------------------------------------


async def test_get_on_an_unfinished_upload_is_409(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    response = await get(tus, url)

    body = assert_error(response, 409)
    assert body["error_code"] == "upload_incomplete"


async def test_the_409_says_how_far_the_upload_got(tus: TusClient) -> None:
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    body = assert_error(await get(tus, url), 409)

    assert body["details"] == {"offset": 3, "length": 10}


async def test_get_on_an_upload_of_deferred_length_is_409(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    assert_error(await get(tus, url), 409)


async def test_get_on_a_final_upload_waiting_for_its_partials_is_409(tus: TusClient) -> None:
    part = await tus.new_upload(5, concat="partial")
    final = await tus.new_upload(concat=f"final;{urlsplit(part).path}")

    assert_error(await get(tus, final), 409)


async def test_get_on_an_unknown_upload_is_404(tus: TusClient) -> None:
    response = await get(tus, tus.endpoint + "0123456789abcdef0123456789abcdef")

    assert_error(response, 404)


@pytest.mark.parametrize("upload_id", ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a" * 300, "a.info"], ids=repr)
async def test_get_on_an_invalid_upload_id_is_404(tus: TusClient, upload_id: str) -> None:
    response = await get(tus, tus.endpoint + upload_id)

    assert_error(response, 404)


async def test_get_on_a_terminated_upload_is_410(tus: TusClient, url: str) -> None:
    await tus.delete(url)

    body = assert_error(await get(tus, url), 410)

    assert body["error_code"] == "upload_gone"


async def test_get_on_a_terminated_upload_is_404_once_no_tombstone_is_kept(make_tus: MakeTus) -> None:
    tus = make_tus(tombstone_ttl=0)
    url = await tus.uploaded(DATA)
    await tus.delete(url)

    assert_error(await get(tus, url), 404)


async def test_get_on_an_expired_upload_is_410(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=0.05)
    url = await tus.new_upload(10)

    async def expired() -> bool:
        return (await get(tus, url)).status_code != 409

    await eventually(expired)

    assert_error(await get(tus, url), 410)


# -- one range ------------------------------------------------------------------------------------------


async def test_a_single_range_is_206_with_those_bytes(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=100-199")

    assert response.status_code == 206
    assert response.content == DATA[100:200]


async def test_a_single_range_carries_content_range(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=100-199")

    assert response.headers["Content-Range"] == f"bytes 100-199/{SIZE}"


async def test_a_single_range_has_the_range_length_as_content_length(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=100-199")

    assert response.headers["Content-Length"] == "100"


async def test_a_single_range_keeps_the_file_content_type(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-0")

    assert response.headers["Content-Type"] == "image/png"


async def test_an_open_range_runs_to_the_end(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=1000-")

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-{SIZE - 1}/{SIZE}"
    assert response.content == DATA[1000:]


async def test_a_suffix_range_is_the_last_bytes(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=-24")

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {SIZE - 24}-{SIZE - 1}/{SIZE}"
    assert response.content == DATA[-24:]


async def test_a_suffix_longer_than_the_file_is_the_whole_file_as_206(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=-100000")

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert response.content == DATA


async def test_a_range_past_the_end_is_clipped(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=1020-5000")

    assert response.headers["Content-Range"] == f"bytes 1020-{SIZE - 1}/{SIZE}"
    assert response.content == DATA[1020:]


async def test_overlapping_ranges_are_served_as_one_range(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-99,50-149")

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-149/{SIZE}"
    assert response.content == DATA[:150]


# -- several ranges: multipart/byteranges ----------------------------------------------------------------


async def test_several_ranges_are_206_multipart_byteranges(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9,100-109,-5")

    assert response.status_code == 206
    assert response.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert "Content-Range" not in response.headers


async def test_each_part_carries_its_range_and_its_bytes(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9,100-109,-5")

    parts = byteranges(response)

    assert [headers["content-range"] for headers, _ in parts] == [
        f"bytes 0-9/{SIZE}",
        f"bytes 100-109/{SIZE}",
        f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}",
    ]
    assert [content for _, content in parts] == [DATA[0:10], DATA[100:110], DATA[-5:]]


async def test_each_part_carries_the_file_content_type(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9,100-109")

    assert [headers["content-type"] for headers, _ in byteranges(response)] == ["image/png", "image/png"]


async def test_a_multipart_content_length_is_the_body_length(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9,100-109,-5")

    assert response.headers["Content-Length"] == str(len(response.content))


async def test_each_multipart_response_has_its_own_boundary(tus: TusClient, url: str) -> None:
    first = await get(tus, url, range="bytes=0-9,100-109")
    second = await get(tus, url, range="bytes=0-9,100-109")

    assert first.headers["Content-Type"] != second.headers["Content-Type"]


async def test_parts_come_sorted_and_coalesced(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=500-509,0-9,5-14")

    parts = byteranges(response)

    assert [headers["content-range"] for headers, _ in parts] == [f"bytes 0-14/{SIZE}", f"bytes 500-509/{SIZE}"]
    assert [content for _, content in parts] == [DATA[0:15], DATA[500:510]]


async def test_unsatisfiable_ranges_among_several_are_left_out(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9,5000-6000")

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-9/{SIZE}"
    assert response.content == DATA[:10]


# -- ranges ignored or refused ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=5-1", "bytes=", "items=0-1", "bytes 0-1"], ids=repr)
async def test_a_malformed_or_foreign_range_is_ignored(tus: TusClient, url: str, header: str) -> None:
    response = await get(tus, url, range=header)

    assert response.status_code == 200
    assert response.content == DATA


async def test_too_many_ranges_are_ignored(tus: TusClient, url: str) -> None:
    header = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(200))

    response = await get(tus, url, range=header)

    assert response.status_code == 200
    assert response.content == DATA


async def test_an_unsatisfiable_range_is_416(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range=f"bytes={SIZE}-")

    body = assert_error(response, 416)
    assert body["error_code"] == "range_not_satisfiable"


async def test_a_416_carries_content_range_with_the_size(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=5000-6000")

    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


async def test_an_int_range_of_an_empty_upload_is_416(tus: TusClient) -> None:
    url = await tus.new_upload(0)

    response = await get(tus, url, range="bytes=0-")

    assert_error(response, 416)
    assert response.headers["Content-Range"] == "bytes */0"


async def test_a_range_with_thousands_of_digits_is_not_a_500(tus: TusClient, url: str) -> None:
    # The spec's error contract: no input may produce a 500.
    response = await get(tus, url, range="bytes=0-" + "9" * 5000)

    assert response.status_code in (200, 206), (response.status_code, response.text)
    assert response.content == DATA


# -- If-Range -------------------------------------------------------------------------------------------


async def test_if_range_with_the_etag_is_206(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    response = await get(tus, url, range="bytes=0-9", if_range=etag)

    assert response.status_code == 206
    assert response.content == DATA[:10]


async def test_if_range_with_another_etag_is_the_whole_file(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=0-9", if_range='"not-this-one"')

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.content == DATA


async def test_if_range_with_a_weak_etag_is_the_whole_file(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    response = await get(tus, url, range="bytes=0-9", if_range="W/" + etag)

    assert response.status_code == 200
    assert response.content == DATA


async def test_if_range_with_the_last_modified_date_is_206(tus: TusClient, url: str) -> None:
    _, last_modified = await validators(tus, url)

    response = await get(tus, url, range="bytes=0-9", if_range=last_modified)

    assert response.status_code == 206
    assert response.content == DATA[:10]


@pytest.mark.parametrize("offset", [-HOUR, HOUR], ids=["earlier", "later"])
async def test_if_range_with_another_date_is_the_whole_file(tus: TusClient, url: str, offset: float) -> None:
    _, last_modified = await validators(tus, url)

    response = await get(tus, url, range="bytes=0-9", if_range=shifted(last_modified, offset))

    assert response.status_code == 200
    assert response.content == DATA


async def test_a_stale_if_range_turns_an_unsatisfiable_range_into_the_whole_file(tus: TusClient, url: str) -> None:
    response = await get(tus, url, range="bytes=5000-", if_range='"not-this-one"')

    assert response.status_code == 200
    assert response.content == DATA


async def test_if_range_without_range_is_the_whole_file(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    response = await get(tus, url, if_range=etag)

    assert response.status_code == 200


# -- If-None-Match and If-Modified-Since ---------------------------------------------------------------------


async def test_if_none_match_with_the_etag_is_304(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    response = await get(tus, url, if_none_match=etag)

    assert response.status_code == 304
    assert response.content == b""


async def test_a_304_carries_the_validators(tus: TusClient, url: str) -> None:
    etag, last_modified = await validators(tus, url)

    response = await get(tus, url, if_none_match=etag)

    assert response.headers["ETag"] == etag
    assert response.headers["Last-Modified"] == last_modified


async def test_if_none_match_with_another_etag_is_200(tus: TusClient, url: str) -> None:
    response = await get(tus, url, if_none_match='"not-this-one"')

    assert response.status_code == 200
    assert response.content == DATA


async def test_if_none_match_star_is_304(tus: TusClient, url: str) -> None:
    assert (await get(tus, url, if_none_match="*")).status_code == 304


async def test_if_none_match_with_the_weak_etag_is_304(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    assert (await get(tus, url, if_none_match="W/" + etag)).status_code == 304


async def test_if_none_match_is_304_even_with_a_range(tus: TusClient, url: str) -> None:
    etag, _ = await validators(tus, url)

    response = await get(tus, url, if_none_match=etag, range="bytes=0-9")

    assert response.status_code == 304


async def test_if_modified_since_the_last_modified_date_is_304(tus: TusClient, url: str) -> None:
    _, last_modified = await validators(tus, url)

    response = await get(tus, url, if_modified_since=last_modified)

    assert response.status_code == 304
    assert response.content == b""


async def test_if_modified_since_an_earlier_date_is_200(tus: TusClient, url: str) -> None:
    _, last_modified = await validators(tus, url)

    response = await get(tus, url, if_modified_since=shifted(last_modified, -HOUR))

    assert response.status_code == 200
    assert response.content == DATA


async def test_an_invalid_if_modified_since_is_ignored(tus: TusClient, url: str) -> None:
    response = await get(tus, url, if_modified_since="last tuesday")

    assert response.status_code == 200


async def test_if_none_match_wins_over_if_modified_since(tus: TusClient, url: str) -> None:
    _, last_modified = await validators(tus, url)

    response = await get(tus, url, if_none_match='"not-this-one"', if_modified_since=last_modified)

    assert response.status_code == 200


async def test_an_incomplete_upload_is_409_whatever_the_conditions(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await get(tus, url, if_none_match="*")

    assert_error(response, 409)


# -- presentation: Content-Type and Content-Disposition ------------------------------------------------------


async def test_content_type_comes_from_the_filetype_metadata(tus: TusClient) -> None:
    url = await tus.uploaded(b"{}", metadata=metadata(filetype="application/json"))

    assert (await get(tus, url)).headers["Content-Type"] == "application/json"


async def test_without_a_filetype_content_type_is_octet_stream(tus: TusClient) -> None:
    url = await tus.uploaded(b"abc")

    assert (await get(tus, url)).headers["Content-Type"] == "application/octet-stream"


async def test_a_filetype_that_would_inject_a_header_is_octet_stream(tus: TusClient) -> None:
    url = await tus.uploaded(b"abc", metadata=metadata(filetype="text/plain\r\nSet-Cookie: session=stolen"))

    response = await get(tus, url)

    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("filetype", "kind"),
    [
        ("text/html", "attachment"),
        ("image/svg+xml", "attachment"),
        ("application/pdf", "attachment"),
        ("application/xhtml+xml", "attachment"),
        ("image/png", "inline"),
        ("video/mp4", "inline"),
    ],
)
async def test_only_safe_types_are_served_inline(tus: TusClient, filetype: str, kind: str) -> None:
    url = await tus.uploaded(b"<script>alert(1)</script>", metadata=metadata(filetype=filetype))

    response = await get(tus, url)

    assert response.headers["Content-Disposition"].split(";")[0] == kind


async def test_a_dangerous_type_keeps_its_content_type_but_is_an_attachment(tus: TusClient) -> None:
    url = await tus.uploaded(b"<html></html>", metadata=metadata(filetype="text/html"))

    response = await get(tus, url)

    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Content-Disposition"] == "attachment"


async def test_content_disposition_carries_the_filename(tus: TusClient, url: str) -> None:
    response = await get(tus, url)

    assert response.headers["Content-Disposition"] == "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"


async def test_a_non_ascii_filename_travels_as_filename_star(tus: TusClient) -> None:
    url = await tus.uploaded(b"abc", metadata=metadata(filename="Grüße 📄.txt", filetype="text/plain"))

    response = await get(tus, url)

    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Gr__e _.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%F0%9F%93%84.txt"
    )


async def test_a_filename_with_quotes_and_newlines_cannot_break_the_header(tus: TusClient) -> None:
    name = 'evil".html\r\nSet-Cookie: session=stolen\r\n\r\n<script>'
    url = await tus.uploaded(b"abc", metadata=metadata(filename=name))

    response = await get(tus, url)

    assert "set-cookie" not in response.headers
    assert response.content == b"abc"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="evil_.htmlSet-Cookie: session=stolen<script>"; '
        "filename*=UTF-8''evil%22.htmlSet-Cookie%3A%20session%3Dstolen%3Cscript%3E"
    )


async def test_a_filename_with_directories_is_served_without_them(tus: TusClient) -> None:
    url = await tus.uploaded(b"abc", metadata=metadata(filename="../../etc/passwd"))

    response = await get(tus, url)

    assert response.headers["Content-Disposition"] == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"


# -- X-Content-Type-Options: nosniff on every response -----------------------------------------------------

Scenario = Callable[[TusClient, str], Awaitable[httpx.Response]]


async def _full(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, url)


async def _one_range(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, url, range="bytes=0-9")


async def _several_ranges(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, url, range="bytes=0-9,20-29")


async def _not_modified(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, url, if_none_match="*")


async def _unsatisfiable(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, url, range="bytes=9999-")


async def _incomplete(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, await tus.new_upload(10))


async def _unknown(tus: TusClient, url: str) -> httpx.Response:
    return await get(tus, tus.endpoint + "0123456789abcdef0123456789abcdef")


async def _terminated(tus: TusClient, url: str) -> httpx.Response:
    await tus.delete(url)
    return await get(tus, url)


@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        (_full, 200),
        (_one_range, 206),
        (_several_ranges, 206),
        (_not_modified, 304),
        (_unsatisfiable, 416),
        (_incomplete, 409),
        (_unknown, 404),
        (_terminated, 410),
    ],
    ids=["200", "206", "206 multipart", "304", "416", "409", "404", "410"],
)
async def test_every_download_response_forbids_sniffing(
    tus: TusClient, url: str, scenario: Scenario, status: int
) -> None:
    response = await scenario(tus, url)

    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# -- a real server: big files, real sockets ------------------------------------------------------------------

BIG = 20 * 2**20


@pytest.fixture
def big_upload(live_server: LiveServer) -> tuple[str, bytes]:
    data = live_tus.payload(BIG, seed=7)
    url = live_tus.create(live_server.endpoint, BIG, **{"Upload-Metadata": metadata(filetype="video/mp4")})
    response = live_tus.patch(url, 0, data)
    assert response.status_code == 204, response.text
    return url, data


def streamed_digest(url: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, str, int]:
    """Download without holding the body in memory: the response, the SHA-256 of its body and its length."""
    digest = hashlib.sha256()
    length = 0
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        for chunk in response.iter_bytes():
            digest.update(chunk)
            length += len(chunk)
    return response, digest.hexdigest(), length


def test_a_20_mib_download_matches_the_upload(big_upload: tuple[str, bytes]) -> None:
    url, data = big_upload

    response, digest, length = streamed_digest(url)

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(BIG)
    assert (length, digest) == (BIG, live_tus.sha256(data))


def test_a_range_of_a_20_mib_upload_matches_that_slice(big_upload: tuple[str, bytes]) -> None:
    url, data = big_upload
    first, last = 3 * 2**20 + 17, 17 * 2**20 - 3

    response, digest, length = streamed_digest(url, {"Range": f"bytes={first}-{last}"})

    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{last}/{BIG}"
    assert response.headers["Content-Length"] == str(last - first + 1)
    assert (length, digest) == (last - first + 1, live_tus.sha256(data[first : last + 1]))


def open_connections(server: LiveServer) -> float:
    """The server's in-flight requests, this metrics request included."""
    metrics = httpx.get(server.base_url + "/metrics").text
    match = re.search(r"^tusd_py_open_connections (\S+)$", metrics, re.MULTILINE)
    assert match is not None, metrics
    return float(match.group(1))


def leave_mid_download(server: LiveServer, url: str) -> None:
    """Start a download, read its headers and the first MiB, then vanish with a reset."""
    leaving = RawRequest(server.port, "GET", urlsplit(url).path, {})
    received = b""
    while len(received) < 2**20:
        chunk = leaving.sock.recv(65536)
        assert chunk, received[:200]
        received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    leaving.abort()


def test_a_client_leaving_mid_download_ends_its_request_cleanly(
    live_server: LiveServer, big_upload: tuple[str, bytes]
) -> None:
    url, _ = big_upload

    leave_mid_download(live_server, url)

    wait_until(lambda: open_connections(live_server) == 1)
    assert "Traceback" not in live_server.log()


def test_after_a_client_leaves_mid_download_the_server_serves_others(
    live_server: LiveServer, big_upload: tuple[str, bytes]
) -> None:
    url, data = big_upload

    leave_mid_download(live_server, url)

    response, digest, length = streamed_digest(url)
    assert response.status_code == 200
    assert (length, digest) == (BIG, live_tus.sha256(data))
