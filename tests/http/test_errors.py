"""Every error is JSON with error_code, error_message and details, carries Tus-Resumable, and none is a 500."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.tus_client import OFFSET_STREAM, TusClient, assert_error, tus_headers
from tusd_py import Settings, create_app

UNKNOWN = "0123456789abcdef0123456789abcdef"
Exchange = Callable[[TusClient], Awaitable[httpx.Response]]


async def _missing_length(tus: TusClient) -> httpx.Response:
    return await tus.create()


async def _final_patched(tus: TusClient) -> httpx.Response:
    part = await tus.uploaded(b"abc", concat="partial")
    return await tus.patch(await tus.new_upload(concat=f"final;{part}"), b"", offset=3)


async def _unknown_upload(tus: TusClient) -> httpx.Response:
    return await tus.patch(tus.endpoint + UNKNOWN, b"abc", offset=0)


async def _wrong_method_on_collection(tus: TusClient) -> httpx.Response:
    return await tus.http.put(tus.endpoint, headers=tus_headers())


async def _wrong_method_on_upload(tus: TusClient) -> httpx.Response:
    return await tus.http.put(await tus.new_upload(5), headers=tus_headers())


async def _offset_mismatch(tus: TusClient) -> httpx.Response:
    return await tus.patch(await tus.new_upload(5), b"abc", offset=2)


async def _no_tus_resumable(tus: TusClient) -> httpx.Response:
    return await tus.http.post(tus.endpoint, headers={"Upload-Length": "5"})


async def _too_long(tus: TusClient) -> httpx.Response:
    return await tus.patch(await tus.new_upload(2), b"abc", offset=0)


async def _wrong_content_type(tus: TusClient) -> httpx.Response:
    return await tus.patch(await tus.new_upload(5), b"abc", offset=0, headers={"Content-Type": "text/plain"})


async def _checksum_mismatch(tus: TusClient) -> httpx.Response:
    return await tus.patch(
        await tus.new_upload(5), b"abc", offset=0, headers={"Upload-Checksum": "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    )


async def _unknown_route(tus: TusClient) -> httpx.Response:
    return await tus.http.get("/no/such/route", headers=tus_headers())


async def _nested_path_under_an_upload(tus: TusClient) -> httpx.Response:
    return await tus.http.patch(tus.endpoint + UNKNOWN + "/deeper", headers=tus_headers())


ERRORS: dict[str, tuple[int, Exchange]] = {
    "400 missing length": (400, _missing_length),
    "403 patch on final": (403, _final_patched),
    "404 unknown upload": (404, _unknown_upload),
    "404 unknown route": (404, _unknown_route),
    "404 nested path": (404, _nested_path_under_an_upload),
    "405 on the collection": (405, _wrong_method_on_collection),
    "405 on an upload": (405, _wrong_method_on_upload),
    "409 offset mismatch": (409, _offset_mismatch),
    "412 no Tus-Resumable": (412, _no_tus_resumable),
    "413 body too long": (413, _too_long),
    "415 wrong content type": (415, _wrong_content_type),
    "460 checksum mismatch": (460, _checksum_mismatch),
}


@pytest.mark.parametrize(("status", "exchange"), ERRORS.values(), ids=ERRORS.keys())
async def test_every_error_is_json_with_code_message_and_details(
    tus: TusClient, status: int, exchange: Exchange
) -> None:
    response = await exchange(tus)

    assert_error(response, status)


async def test_error_codes_tell_errors_of_the_same_status_apart(tus: TusClient) -> None:
    missing = assert_error(await tus.create(), 400)
    both = assert_error(await tus.create(5, defer=True), 400)

    assert missing["error_code"] != both["error_code"]


# -- no input produces a 500 ------------------------------------------------------------------------

TUS_HEADERS = [
    "Upload-Length",
    "Upload-Offset",
    "Upload-Defer-Length",
    "Upload-Metadata",
    "Upload-Concat",
    "Upload-Checksum",
    "Content-Type",
    "Tus-Resumable",
    "X-HTTP-Method-Override",
]
# Any byte a header value may carry on the wire (no CR, LF or NUL).
header_values = st.binary(max_size=60).map(lambda raw: bytes(b for b in raw if b not in b"\r\n\x00"))
tus_header_sets = st.dictionaries(st.sampled_from(TUS_HEADERS), header_values, max_size=5)
# Pieces of URLs a final upload might name, well-formed or not.
url_pieces = st.sampled_from(
    [
        b"http://testserver",
        b"https://elsewhere.example",
        b"http://[",
        b"http://[::1]",
        b"//",
        b"/files/",
        b"/files",
        b"/",
        b"..",
        b"%2e%2e",
        b"?q=1",
        b"#frag",
        b":99999",
        b"@",
        b"0123456789abcdef",
        b"events",
        b".info",
        b" ",
    ]
)
concat_urls = st.lists(st.one_of(url_pieces, header_values), max_size=6).map(b"".join)
sensible_values = {
    "Tus-Resumable": st.just(b"1.0.0"),
    "Content-Type": st.just(OFFSET_STREAM.encode()),
    "Upload-Concat": st.one_of(st.just(b"partial"), concat_urls.map(lambda urls: b"final;" + urls)),
}


@st.composite
def hostile_requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    method = draw(st.sampled_from(["POST", "PATCH", "HEAD", "DELETE", "OPTIONS", "GET"]))
    target = draw(st.sampled_from(["collection", "upload", "partial", "final"]))
    headers = {name.encode(): value for name, value in draw(tus_header_sets).items()}
    for name, strategy in sensible_values.items():
        if draw(st.booleans()):
            headers[name.encode()] = draw(strategy)
    body = draw(st.binary(max_size=16))
    return method, target, list(headers.items()), body


async def _hostile_exchange(
    upload_dir: Path, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> list[httpx.Response]:
    """The request against a fresh server holding one upload of each kind; then a HEAD to see it still works."""
    tus = TusClient(create_app(Settings(upload_dir=upload_dir, max_size=1000)), upload_dir)
    try:
        part = await tus.uploaded(b"abc", concat="partial")
        urls = {
            "collection": tus.endpoint,
            "upload": await tus.new_upload(10),
            "partial": part,
            "final": await tus.new_upload(concat=f"final;{part}"),
        }
        response = await tus.http.request(method, urls[target], headers=headers, content=body)
        return [response, await tus.head(urls["upload"])]
    finally:
        await tus.aclose()


def exchange_with_a_fresh_server(
    method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        responses = asyncio.run(_hostile_exchange(Path(directory) / "uploads", method, target, headers, body))

    for response in responses:
        assert response.status_code < 500, (response.status_code, response.text)
        assert response.headers["Tus-Resumable"] == "1.0.0"
        if response.status_code >= 400:
            assert_error(response, response.status_code)


FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(request=hostile_requests())
def test_no_request_produces_a_server_error(request: tuple[str, str, list[tuple[bytes, bytes]], bytes]) -> None:
    exchange_with_a_fresh_server(*request)


@FUZZ
@given(concat=concat_urls)
def test_no_upload_concat_final_value_produces_a_server_error(concat: bytes) -> None:
    exchange_with_a_fresh_server(
        "POST", "collection", [(b"Tus-Resumable", b"1.0.0"), (b"Upload-Concat", b"final;" + concat)]
    )


@FUZZ
@given(metadata=header_values)
def test_no_upload_metadata_value_produces_a_server_error(metadata: bytes) -> None:
    exchange_with_a_fresh_server(
        "POST", "collection", [(b"Tus-Resumable", b"1.0.0"), (b"Upload-Length", b"5"), (b"Upload-Metadata", metadata)]
    )


@FUZZ
@given(checksum=header_values, body=st.binary(max_size=16))
def test_no_upload_checksum_value_produces_a_server_error(checksum: bytes, body: bytes) -> None:
    headers = [
        (b"Tus-Resumable", b"1.0.0"),
        (b"Content-Type", OFFSET_STREAM.encode()),
        (b"Upload-Offset", b"0"),
        (b"Upload-Checksum", checksum),
    ]
    exchange_with_a_fresh_server("PATCH", "upload", headers, body)

