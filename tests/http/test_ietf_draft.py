"""The IETF draft over HTTP (in-process): every interop version on the same uploads as tus 1.0."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, tus_headers, upload_id_of

ALL = [3, 4, 5, 6, 7, 8]


def draft(version: int, complete: bool | None = None, **fields: str) -> dict[str, str]:
    headers = {"Upload-Draft-Interop-Version": str(version)}
    if complete is not None:
        if version == 3:
            headers["Upload-Incomplete"] = "?0" if complete else "?1"
        else:
            headers["Upload-Complete"] = "?1" if complete else "?0"
    headers.update({name.replace("_", "-"): value for name, value in fields.items()})
    return headers


def append_headers(version: int, offset: int, complete: bool) -> dict[str, str]:
    headers = draft(version, complete, Upload_Offset=str(offset))
    if version >= 6:
        headers["Content-Type"] = "application/partial-upload"
    return headers


def completed_of(response: httpx.Response, version: int) -> bool:
    if version == 3:
        return response.headers["Upload-Incomplete"] == "?0"
    return response.headers["Upload-Complete"] == "?1"


def stored(upload_dir: Path, url: str) -> bytes:
    return (upload_dir / upload_id_of(url)).read_bytes()


@pytest.mark.parametrize("version", ALL)
async def test_create_append_and_complete_in_every_version(tus: TusClient, upload_dir: Path, version: int) -> None:
    created = await tus.http.post("/files/", headers=draft(version, False), content=b"hello ")
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    assert created.headers["Upload-Offset"] == "6"
    assert not completed_of(created, version)
    assert created.headers["Upload-Draft-Interop-Version"] == str(version)

    head = await tus.http.head(url, headers=draft(version))
    assert head.status_code == 204
    assert head.headers["Upload-Offset"] == "6"
    assert head.headers["Cache-Control"] == "no-store"
    assert not completed_of(head, version)

    middle = await tus.http.patch(url, headers=append_headers(version, 6, False), content=b"draft ")
    assert middle.status_code == (201 if version <= 6 else 204)
    assert middle.headers["Upload-Offset"] == "12"
    last = await tus.http.patch(url, headers=append_headers(version, 12, True), content=b"world")
    assert last.status_code == (201 if version <= 6 else 200)
    assert completed_of(last, version)
    assert stored(upload_dir, url) == b"hello draft world"
    head = await tus.http.head(url, headers=draft(version))
    assert completed_of(head, version)
    if version >= 6:
        assert head.headers["Upload-Length"] == "17"


@pytest.mark.parametrize("version", ALL)
async def test_a_one_shot_upload_answers_with_its_location(tus: TusClient, upload_dir: Path, version: int) -> None:
    response = await tus.http.post(
        "/files/", headers=draft(version, True, Content_Type="text/plain"), content=b"one shot"
    )
    assert response.status_code == 201
    assert completed_of(response, version)
    assert stored(upload_dir, response.headers["Location"]) == b"one shot"
    download = await tus.http.get(response.headers["Location"])
    assert download.content == b"one shot"


async def test_a_one_shot_upload_of_unknown_length_takes_the_length_of_its_body(tus: TusClient) -> None:
    async def body():  # type: ignore[no-untyped-def]
        yield b"chunked "
        yield b"body"

    response = await tus.http.post("/files/", headers=draft(8, True), content=body())
    assert response.status_code == 201
    head = await tus.http.head(response.headers["Location"], headers=draft(8))
    assert head.headers["Upload-Length"] == "12"
    assert head.headers["Upload-Complete"] == "?1"


@pytest.mark.parametrize("version", [3, 5, 6, 7, 8])
async def test_a_wrong_offset_is_a_409_with_the_right_offset(tus: TusClient, version: int) -> None:
    created = await tus.http.post("/files/", headers=draft(version, False), content=b"abc")
    response = await tus.http.patch(
        created.headers["Location"], headers=append_headers(version, 1, False), content=b"x"
    )
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == "3"
    assert not completed_of(response, version)
    body = response.json()
    if version >= 6:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert body["type"] == "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
        assert (body["expected-offset"], body["provided-offset"]) == (3, 1)
    else:
        assert body["error_code"] == "offset_mismatch"


async def test_an_unknown_version_is_a_400_naming_the_known_ones(tus: TusClient) -> None:
    response = await tus.http.post("/files/", headers=draft(9, True), content=b"x")
    assert response.status_code == 400
    assert "3, 4, 5, 6, 7, 8" in response.json()["error_message"]


async def test_with_the_draft_off_its_requests_are_tus_requests(make_tus: MakeTus) -> None:
    tus = make_tus(ietf_draft=False)
    response = await tus.http.post("/files/", headers=draft(8, True), content=b"x")
    assert response.status_code == 412  # no Tus-Resumable: not a tus request either
    options = await tus.http.options("/files/")
    assert "Upload-Limit" not in options.headers


async def test_options_announces_the_limits(make_tus: MakeTus) -> None:
    tus = make_tus(max_size=1000, expire_after=3600)
    assert (await tus.http.options("/files/", headers=draft(6))).headers["Upload-Limit"] == (
        "max-size=1000, min-size=0, expires=3600"
    )
    assert (await tus.http.options("/files/", headers=draft(8))).headers["Upload-Limit"] == (
        "max-size=1000, min-size=0, max-age=3600"
    )
    assert "Upload-Limit" not in (await tus.http.options("/files/", headers=draft(5))).headers


async def test_a_creation_above_the_maximum_is_a_413_with_the_limits(make_tus: MakeTus) -> None:
    tus = make_tus(max_size=5)
    response = await tus.http.post("/files/", headers=draft(8, True), content=b"too long")
    assert response.status_code == 413
    assert response.headers["Upload-Limit"].startswith("max-size=5")


async def test_an_inconsistent_length_is_a_400_problem(tus: TusClient) -> None:
    response = await tus.http.post("/files/", headers=draft(8, True, Upload_Length="3"), content=b"four")
    assert response.status_code == 400
    assert response.json()["type"].endswith("#inconsistent-upload-length")


async def test_interop_6_needs_partial_upload_appends(tus: TusClient) -> None:
    created = await tus.http.post("/files/", headers=draft(6, False), content=b"")
    url = created.headers["Location"]
    response = await tus.http.patch(url, headers=draft(6, True, Upload_Offset="0"), content=b"x")
    assert response.status_code == 415


async def test_drafts_01_to_05_refuse_an_append_to_a_completed_upload(tus: TusClient) -> None:
    created = await tus.http.post("/files/", headers=draft(6, True), content=b"done")
    url = created.headers["Location"]
    refused = await tus.http.patch(url, headers=append_headers(6, 4, True), content=b"")
    assert refused.status_code == 400
    assert refused.json()["type"].endswith("#completed-upload")
    replayed = await tus.http.patch(url, headers=append_headers(8, 4, True), content=b"")
    assert replayed.status_code == 200 and replayed.headers["Upload-Complete"] == "?1"


@pytest.mark.parametrize("version", [3, 8])
async def test_delete_cancels_the_upload(tus: TusClient, version: int) -> None:
    created = await tus.http.post("/files/", headers=draft(version, False), content=b"abc")
    url = created.headers["Location"]
    assert (await tus.http.delete(url, headers=draft(version))).status_code == 204
    assert (await tus.http.head(url, headers=draft(version))).status_code in (404, 410)


async def test_a_draft_upload_resumes_with_tus_and_a_tus_upload_with_the_draft(
    tus: TusClient, upload_dir: Path
) -> None:
    created = await tus.http.post("/files/", headers=draft(8, False, Upload_Length="6"), content=b"abc")
    url = created.headers["Location"]
    head = await tus.http.head(url, headers=tus_headers())
    assert head.headers["Upload-Offset"] == "3" and head.headers["Upload-Length"] == "6"
    patched = await tus.http.patch(
        url, headers=tus_headers(upload_offset=3, content_type="application/offset+octet-stream"), content=b"def"
    )
    assert patched.status_code == 204
    assert stored(upload_dir, url) == b"abcdef"

    created = await tus.http.post("/files/", headers=tus_headers(upload_length=4))
    url = created.headers["Location"]
    done = await tus.http.patch(url, headers=append_headers(8, 0, True), content=b"tus!")
    assert done.status_code == 200 and done.headers["Upload-Complete"] == "?1"
    assert stored(upload_dir, url) == b"tus!"


async def test_the_snapshot_and_the_info_say_which_protocol_created_the_upload(
    tus: TusClient, upload_dir: Path
) -> None:
    created = await tus.http.post("/files/", headers=draft(7, False), content=b"abc")
    upload_id = upload_id_of(created.headers["Location"])
    info = json.loads((upload_dir / f"{upload_id}.info").read_text())
    assert info["TusdPy"]["protocol"] == "ietf-draft-7"
    snapshot = await tus.http.get(f"/files/{upload_id}/progress")
    assert snapshot.json()["protocol"] == "ietf-draft-7"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_download_sends_the_sha256_recorded_while_the_bytes_arrived(tus: TusClient) -> None:
    created = await tus.http.post("/files/", headers=draft(8, False), content=b"part one, ")
    url = created.headers["Location"]
    await tus.http.patch(url, headers=append_headers(8, 10, True), content=b"part two")
    download = await tus.http.get(url)
    assert download.headers["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(b'part one, part two').digest())}:"
    created = await tus.http.post("/files/", headers=tus_headers(upload_length=3))
    await tus.http.patch(
        created.headers["Location"],
        headers=tus_headers(upload_offset=0, content_type="application/offset+octet-stream"),
        content=b"tus",
    )
    download = await tus.http.get(created.headers["Location"])
    assert download.headers["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(b'tus').digest())}:"


async def test_an_upload_resumed_after_a_restart_still_gets_its_digest(make_tus: MakeTus) -> None:
    first = make_tus()
    created = await first.http.post("/files/", headers=draft(8, False), content=b"before ")
    url = created.headers["Location"]
    second = make_tus()  # a new app: the running state is gone, the completion reads the file once
    await second.http.patch(url, headers=append_headers(8, 7, True), content=b"after")
    download = await second.http.get(url)
    assert download.headers["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(b'before after').digest())}:"


@pytest.mark.parametrize("field", ["Content-Digest", "Repr-Digest"])
@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
async def test_a_body_digest_is_verified(tus: TusClient, upload_dir: Path, field: str, algorithm: str) -> None:
    name = {"sha256": "sha-256", "sha512": "sha-512"}[algorithm]
    good = f"{name}=:{b64(hashlib.new(algorithm, b'payload').digest())}:"
    ok = await tus.http.post("/files/", headers={**draft(8, True), field: good}, content=b"payload")
    assert ok.status_code == 201
    bad = f"{name}=:{b64(hashlib.new(algorithm, b'other').digest())}:"
    refused = await tus.http.post("/files/", headers={**draft(8, True), field: bad}, content=b"payload")
    assert refused.status_code == 400
    problem = refused.json()
    assert problem["error_code"] == "digest_mismatch" and problem["details"]["field"] == field
    url = refused.headers["Location"]  # the upload exists, and nothing of the body was kept
    assert (upload_dir / upload_id_of(url)).read_bytes() == b""


async def test_a_content_digest_mismatch_on_an_append_keeps_nothing(tus: TusClient, upload_dir: Path) -> None:
    created = await tus.http.post("/files/", headers=draft(8, False), content=b"abc")
    url = created.headers["Location"]
    wrong = f"sha-256=:{b64(hashlib.sha256(b'nope').digest())}:"
    refused = await tus.http.patch(url, headers={**append_headers(8, 3, True), "Content-Digest": wrong}, content=b"d")
    assert refused.status_code == 400
    assert (upload_dir / upload_id_of(url)).read_bytes() == b"abc"
    right = f"sha-256=:{b64(hashlib.sha256(b'd').digest())}:"
    done = await tus.http.patch(url, headers={**append_headers(8, 3, True), "Content-Digest": right}, content=b"d")
    assert done.status_code == 200
    download = await tus.http.get(url)
    assert download.headers["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(b'abcd').digest())}:"


async def test_a_malformed_digest_is_a_400(tus: TusClient) -> None:
    response = await tus.http.post("/files/", headers={**draft(8, True), "Content-Digest": "sha-256=abc"}, content=b"x")
    assert response.status_code == 400


async def test_the_completing_append_may_state_the_whole_uploads_digest(tus: TusClient, upload_dir: Path) -> None:
    created = await tus.http.post("/files/", headers=draft(8, False), content=b"first ")
    url = created.headers["Location"]
    wrong = f"sha-256=:{b64(hashlib.sha256(b'first lost').digest())}:"
    refused = await tus.http.patch(url, headers={**append_headers(8, 6, True), "Repr-Digest": wrong}, content=b"last")
    assert refused.status_code == 400
    assert refused.json()["details"]["field"] == "Repr-Digest"
    assert (upload_dir / upload_id_of(url)).read_bytes() == b"first "  # nothing of that body kept
    right = f"sha-256=:{b64(hashlib.sha256(b'first last').digest())}:"
    done = await tus.http.patch(url, headers={**append_headers(8, 6, True), "Repr-Digest": right}, content=b"last")
    assert done.status_code == 200
    assert (await tus.http.get(url)).headers["Repr-Digest"] == right


def repr_digest(data: bytes, algorithm: str = "sha256") -> str:
    name = {"sha256": "sha-256", "sha512": "sha-512"}[algorithm]
    return f"{name}=:{b64(hashlib.new(algorithm, data).digest())}:"


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
async def test_a_digest_stated_at_creation_is_checked_when_the_upload_completes(
    tus: TusClient, upload_dir: Path, algorithm: str
) -> None:
    stated = repr_digest(b"first last", algorithm)
    created = await tus.http.post("/files/", headers={**draft(8, False), "Repr-Digest": stated}, content=b"first ")
    assert created.status_code == 201
    url = created.headers["Location"]
    info = json.loads((upload_dir / f"{upload_id_of(url)}.info").read_text())
    assert info["TusdPy"]["expected_digest"]["algorithm"] == algorithm  # remembered with the upload
    refused = await tus.http.patch(url, headers=append_headers(8, 6, True), content=b"lost")
    assert refused.status_code == 400
    problem = refused.json()
    assert problem["error_code"] == "digest_mismatch" and problem["details"]["field"] == "Repr-Digest"
    assert stored(upload_dir, url) == b"first "  # nothing of that body kept, the upload still incomplete
    head = await tus.http.head(url, headers=draft(8))
    assert head.headers["Upload-Offset"] == "6" and head.headers["Upload-Complete"] == "?0"
    done = await tus.http.patch(url, headers=append_headers(8, 6, True), content=b"last")
    assert done.status_code == 200
    assert (await tus.http.get(url)).headers["Repr-Digest"] == repr_digest(b"first last")


async def test_a_stated_digest_is_checked_when_tus_completes_the_upload(tus: TusClient, upload_dir: Path) -> None:
    stated = repr_digest(b"abcdef")
    headers = {**draft(8, False, Upload_Length="6"), "Repr-Digest": stated}
    url = (await tus.http.post("/files/", headers=headers, content=b"ab")).headers["Location"]
    offset_body = "application/offset+octet-stream"
    middle = await tus.http.patch(url, headers=tus_headers(upload_offset=2, content_type=offset_body), content=b"cd")
    assert middle.status_code == 204  # does not end the upload: nothing to check yet
    refused = await tus.http.patch(url, headers=tus_headers(upload_offset=4, content_type=offset_body), content=b"xx")
    assert refused.status_code == 400 and refused.json()["error_code"] == "digest_mismatch"
    assert stored(upload_dir, url) == b"abcd"
    done = await tus.http.patch(url, headers=tus_headers(upload_offset=4, content_type=offset_body), content=b"ef")
    assert done.status_code == 204 and done.headers["Upload-Offset"] == "6"


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
async def test_a_stated_digest_survives_a_restart(make_tus: MakeTus, upload_dir: Path, algorithm: str) -> None:
    first = make_tus()
    headers = {**draft(8, False), "Repr-Digest": repr_digest(b"before after", algorithm)}
    url = (await first.http.post("/files/", headers=headers, content=b"before ")).headers["Location"]
    second = make_tus()  # a new app: the running state is gone, the stored bytes are read once to check
    refused = await second.http.patch(url, headers=append_headers(8, 7, True), content=b"AFTER")
    assert refused.status_code == 400 and refused.json()["error_code"] == "digest_mismatch"
    assert stored(upload_dir, url) == b"before "
    done = await second.http.patch(url, headers=append_headers(8, 7, True), content=b"after")
    assert done.status_code == 200
    assert (await second.http.get(url)).headers["Repr-Digest"] == repr_digest(b"before after")


async def test_a_body_longer_than_the_upload_is_checked_against_the_stated_digest(
    tus: TusClient, upload_dir: Path
) -> None:
    """A chunked tus PATCH that runs past the length keeps the bytes up to it (413): with a stated digest those
    bytes complete the upload, so they are checked first."""
    headers = {**draft(8, False, Upload_Length="6"), "Repr-Digest": repr_digest(b"abcdef")}
    url = (await tus.http.post("/files/", headers=headers, content=b"abc")).headers["Location"]

    async def chunked(body: bytes) -> AsyncIterator[bytes]:  # no Content-Length
        yield body

    patch_headers = tus_headers(upload_offset=3, content_type="application/offset+octet-stream")
    refused = await tus.http.patch(url, headers=patch_headers, content=chunked(b"XYZ and more"))
    assert refused.status_code == 400 and refused.json()["error_code"] == "digest_mismatch"
    assert stored(upload_dir, url) == b"abc"
    longer = await tus.http.patch(url, headers=patch_headers, content=chunked(b"def and more"))
    assert longer.status_code == 413 and longer.json()["error_code"] == "body_exceeds_length"
    assert stored(upload_dir, url) == b"abcdef"
    head = await tus.http.head(url, headers=draft(8))
    assert head.headers["Upload-Complete"] == "?1"
