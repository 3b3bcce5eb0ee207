"""Every input is bounded, with a clear error: metadata, ids, Upload-Concat URLs, sizes, request rate."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.hostile.conftest import API_KEYS, MakeClient, credentials
from tests.http.tus_client import TusClient, assert_error, tus_headers, upload_id_of


def metadata_of_size(size: int) -> str:
    """A one-pair Upload-Metadata header exactly `size` characters long."""
    value = base64.b64encode(b"x" * ((size - 2) // 4 * 3)).decode()
    header = "k " + value
    return header + "," + "a" * (size - len(header) - 1) if size - len(header) > 1 else header


@pytest.fixture
def tus(make_client: MakeClient) -> TusClient:
    return make_client(max_metadata_size=1024, max_metadata_pairs=8, max_size=100)


# -- metadata ----------------------------------------------------------------------------------------------


async def test_metadata_at_the_size_limit_is_accepted(tus: TusClient) -> None:
    header = metadata_of_size(1024)
    assert len(header) == 1024

    assert (await tus.create(5, metadata=header)).status_code == 201


async def test_metadata_over_the_size_limit_is_refused_with_a_clear_error(tus: TusClient) -> None:
    body = assert_error(await tus.create(5, metadata=metadata_of_size(1025)), 400)

    assert body["error_code"] == "metadata_too_large"
    assert body["details"] == {"size": 1025, "max_size": 1024}
    assert tus.stored_files() == []


async def test_metadata_with_as_many_pairs_as_allowed_is_accepted(tus: TusClient) -> None:
    assert (await tus.create(5, metadata=",".join(f"k{i}" for i in range(8)))).status_code == 201


async def test_metadata_with_more_pairs_than_allowed_is_refused(tus: TusClient) -> None:
    body = assert_error(await tus.create(5, metadata=",".join(f"k{i}" for i in range(9))), 400)

    assert body["error_message"] == "Upload-Metadata: more than 8 pairs"
    assert tus.stored_files() == []


# -- query parameters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["limit", "offset"])
async def test_a_listing_page_number_thousands_of_digits_long_is_refused_with_400(tus: TusClient, name: str) -> None:
    response = await tus.http.get(tus.endpoint, params={name: "9" * 5000})

    assert assert_error(response, 400)["error_code"] == "invalid_query"


# -- ids ---------------------------------------------------------------------------------------------------

HOSTILE_IDS = {
    "dot-dot": "..",
    "encoded-traversal": "%2e%2e%2fsecret",
    "encoded-slash": "a%2fb",
    "info-suffix": "{id}.info",
    "hidden-file": ".{id}.staging",
    "reserved-events": "events",
    "reserved-batches": "batches",
    "reserved-upload": "upload",
    "too-long": "a" * 129,
    "unicode": "%C3%A9t%C3%A9",
    "nul-byte": "abc%00def",
    "backslash": "..%5c..%5csecret",
}


# HEAD B`events` is the multiplexed event stream's own route (HEAD comes with every GET route), not an id.
ID_CASES = [
    pytest.param(method, raw_id, id=f"{name}-{method}")
    for name, raw_id in HOSTILE_IDS.items()
    for method in ("HEAD", "PATCH", "DELETE")
    if (name, method) != ("reserved-events", "HEAD")
]


@pytest.mark.parametrize(("method", "raw_id"), ID_CASES)
async def test_an_id_outside_the_id_syntax_names_no_upload(
    tus: TusClient, upload_dir: Path, method: str, raw_id: str
) -> None:
    url = await tus.new_upload(5)
    secret = upload_dir.parent / "secret"
    secret.write_text("do not touch")
    before = {path.name: path.read_bytes() for path in upload_dir.iterdir()}
    target = tus.endpoint + raw_id.format(id=upload_id_of(url))
    headers = tus_headers(upload_offset=0, content_type="application/offset+octet-stream")

    response = await tus.http.request(method, target, headers=headers, content=b"x" if method == "PATCH" else None)

    assert response.status_code in (404, 405), (response.status_code, response.text)
    assert {path.name: path.read_bytes() for path in upload_dir.iterdir()} == before
    assert secret.read_text() == "do not touch"


async def test_an_id_at_the_longest_allowed_length_is_looked_up_and_not_found(tus: TusClient) -> None:
    body = assert_error(await tus.http.get(tus.endpoint + "a" * 128, headers=tus_headers()), 404)

    assert body["error_code"] == "upload_not_found"


# -- Upload-Concat -----------------------------------------------------------------------------------------

FOREIGN_URLS = {
    "other-host": "https://evil.example/files/{id}",
    "other-scheme": "https://testserver/files/{id}",
    "outside-base-path": "/other/{id}",
    "traversal": "/files/../files/{id}",
    "encoded-traversal": "/files/%2e%2e/{id}",
    "with-query": "/files/{id}?x=1",
    "with-fragment": "/files/{id}#x",
    "reserved-name": "/files/events",
    "file-scheme": "file:///etc/passwd",
    "bare-id": "{id}",
}


@pytest.mark.parametrize("template", FOREIGN_URLS.values(), ids=FOREIGN_URLS.keys())
async def test_a_final_upload_may_only_name_uploads_of_this_server(tus: TusClient, template: str) -> None:
    partial = upload_id_of(await tus.uploaded(b"abc", concat="partial"))
    files_before = tus.stored_files()

    body = assert_error(await tus.create(concat="final;" + template.format(id=partial)), 400)

    assert body["error_code"] == "invalid_concat_url"
    assert tus.stored_files() == files_before


@pytest.mark.parametrize("form", ["relative", "absolute"])
async def test_a_final_upload_naming_this_servers_own_partials_is_made(tus: TusClient, form: str) -> None:
    partial = await tus.uploaded(b"abc", concat="partial")
    named = partial if form == "absolute" else "/files/" + upload_id_of(partial)

    final = await tus.new_upload(concat="final;" + named)

    assert (await tus.http.get(final)).content == b"abc"


# -- upload size -------------------------------------------------------------------------------------------


async def test_discovery_announces_the_maximum_upload_size(tus: TusClient) -> None:
    assert (await tus.options()).headers["Tus-Max-Size"] == "100"


async def test_an_upload_longer_than_the_maximum_is_refused_at_creation(tus: TusClient) -> None:
    body = assert_error(await tus.create(101), 413)

    assert body["error_code"] == "upload_too_large"
    assert body["details"] == {"length": 101, "max_size": 100}
    assert tus.stored_files() == []


async def test_a_deferred_upload_may_not_declare_a_length_over_the_maximum(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"", offset=0, headers={"Upload-Length": "101"})

    assert assert_error(response, 400)["error_code"] == "length_above_maximum"
    assert "SizeIsDeferred" in tus.stored_info(url) and tus.stored_info(url)["SizeIsDeferred"] is True


async def test_a_body_announced_longer_than_the_maximum_is_refused_before_it_is_read(tus: TusClient) -> None:
    url = await tus.new_upload(defer=True)

    response = await tus.patch(url, b"x" * 101, offset=0)

    assert assert_error(response, 413)["error_code"] == "body_exceeds_length"
    assert tus.stored_bytes(url) == b""


async def test_a_final_upload_whose_partials_sum_over_the_maximum_is_refused(tus: TusClient) -> None:
    partials = [await tus.uploaded(b"x" * 60, concat="partial") for _ in range(2)]

    response = await tus.create(concat="final;" + " ".join(partials))

    assert assert_error(response, 413)["error_code"] == "upload_too_large"


# -- request rate ------------------------------------------------------------------------------------------


@pytest.fixture
def rate_limited(make_client: MakeClient) -> dict[str, TusClient]:
    alice = make_client(credentials("alice"), auth="api-key", api_keys=API_KEYS, rate_limit=0.01, rate_burst=3)
    return {"alice": alice, "bob": make_client(credentials("bob"), app=alice.app)}


async def test_requests_past_the_burst_get_429_with_retry_after(rate_limited: dict[str, TusClient]) -> None:
    alice = rate_limited["alice"]
    statuses = [(await alice.create(5)).status_code for _ in range(3)]

    refused = await alice.create(5)

    assert statuses == [201, 201, 201]
    body = assert_error(refused, 429)
    assert body["error_code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "100"  # one request per 100 s at 0.01/s
    assert len(alice.stored_files()) == 6  # three uploads: data and .info each


async def test_one_users_rate_limit_leaves_another_user_alone(rate_limited: dict[str, TusClient]) -> None:
    for _ in range(4):
        await rate_limited["alice"].create(5)

    assert (await rate_limited["bob"].create(5)).status_code == 201


async def test_discovery_is_not_rate_limited(rate_limited: dict[str, TusClient]) -> None:
    for _ in range(4):
        await rate_limited["alice"].create(5)

    assert (await rate_limited["alice"].options()).status_code == 200


async def test_without_auth_the_rate_limit_applies_per_address(make_client: MakeClient) -> None:
    tus = make_client(rate_limit=0.01, rate_burst=1)

    assert (await tus.create(5)).status_code == 201
    assert_error(await tus.create(5), 429)
