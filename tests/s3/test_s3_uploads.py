"""The tus protocol on the S3 store, in-process, against a real SeaweedFS: what S3 ends up holding, step by step."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.http.test_download import byteranges
from tests.http.tus_client import TusClient, upload_id_of
from tests.s3.conftest import MakeS3Tus
from tests.support.s3_endpoint import S3Endpoint

MiB = 2**20


def object_id(url: str) -> str:
    return upload_id_of(url).rsplit("+", 1)[0]


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_small_patches_go_to_the_part_object_then_complete(
    s3_tus: TusClient, s3_server: S3Endpoint, s3_bucket: str
) -> None:
    data = os.urandom(3 * MiB)
    url = await s3_tus.new_upload(len(data), metadata="filename aGVsbG8udHh0")
    upload_id = upload_id_of(url)
    assert "+" in upload_id
    oid = object_id(url)
    assert s3_server.keys(s3_bucket) == {f"{oid}.info": s3_server.keys(s3_bucket)[f"{oid}.info"]}
    response = await s3_tus.patch(url, data[: MiB], offset=0)
    assert response.status_code == 204, response.text
    assert s3_server.keys(s3_bucket)[f"{oid}.part"] == MiB
    assert await s3_tus.offset_of(url) == MiB
    response = await s3_tus.patch(url, data[MiB:], offset=MiB)
    assert response.status_code == 204, response.text
    keys = s3_server.keys(s3_bucket)
    assert keys.get(oid) == len(data) and f"{oid}.part" not in keys
    assert await s3_tus.offset_of(url) == len(data)
    got = await s3_tus.http.get(url)
    assert got.status_code == 200 and got.content == data
    info = json.loads(s3_server.client().get_object(Bucket=s3_bucket, Key=f"{oid}.info")["Body"].read())
    assert info["ID"] == upload_id
    assert info["Storage"] == {"Type": "s3store", "Bucket": s3_bucket, "Key": oid}
    assert info["MetaData"] == {"filename": "hello.txt"}
    assert info["TusdPy"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert s3_server.multipart_uploads(s3_bucket) == []


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_a_large_body_becomes_parts_with_a_tail(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint,
                                                      s3_bucket: str) -> None:
    tus = make_s3_tus(s3_part_size=5 * MiB, s3_concurrent_part_uploads=2)
    data = os.urandom(23 * MiB + 5)
    url = await tus.new_upload(len(data))
    first = 12 * MiB + 7  # two 5 MiB parts, then a 2 MiB tail into .part
    assert (await tus.patch(url, data[:first], offset=0)).status_code == 204
    oid = object_id(url)
    assert s3_server.keys(s3_bucket)[f"{oid}.part"] == first - 10 * MiB
    parts = s3_server.client().list_parts(Bucket=s3_bucket, Key=oid, UploadId=upload_id_of(url).rsplit("+", 1)[1])
    assert [p["Size"] for p in parts["Parts"]] == [5 * MiB, 5 * MiB]
    assert await tus.offset_of(url) == first
    assert (await tus.patch(url, data[first:], offset=first)).status_code == 204
    assert s3_server.keys(s3_bucket)[oid] == len(data)
    assert (await tus.http.get(url)).content == data
    ranged = await tus.http.get(url, headers={"Range": "bytes=6291456-6291465"})
    assert ranged.status_code == 206 and ranged.content == data[6291456:6291466]


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_an_empty_upload_ends_with_an_empty_object(s3_tus: TusClient, s3_server: S3Endpoint,
                                                         s3_bucket: str) -> None:
    url = await s3_tus.new_upload(0)
    assert s3_server.keys(s3_bucket)[object_id(url)] == 0
    assert (await s3_tus.head(url)).headers["Upload-Offset"] == "0"
    got = await s3_tus.http.get(url)
    assert got.status_code == 200 and got.content == b""


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_termination_removes_every_object_and_the_multipart_upload(
    s3_tus: TusClient, s3_server: S3Endpoint, s3_bucket: str
) -> None:
    url = await s3_tus.new_upload(10 * MiB)
    assert (await s3_tus.patch(url, os.urandom(MiB), offset=0)).status_code == 204
    assert (await s3_tus.delete(url)).status_code == 204
    assert [key for key in s3_server.keys(s3_bucket) if not key.startswith("tusd-py-gone/")] == []
    assert s3_server.multipart_uploads(s3_bucket) == []
    assert (await s3_tus.head(url)).status_code == 410


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_deferred_length_rewrites_the_info(s3_tus: TusClient, s3_server: S3Endpoint, s3_bucket: str) -> None:
    url = await s3_tus.new_upload(defer=True)
    oid = object_id(url)
    info = json.loads(s3_server.client().get_object(Bucket=s3_bucket, Key=f"{oid}.info")["Body"].read())
    assert info["SizeIsDeferred"] is True
    assert (await s3_tus.patch(url, b"abc", offset=0)).status_code == 204
    response = await s3_tus.patch(url, b"defg", offset=3, headers={"Upload-Length": "7"})
    assert response.status_code == 204, response.text
    info = json.loads(s3_server.client().get_object(Bucket=s3_bucket, Key=f"{oid}.info")["Body"].read())
    assert info["SizeIsDeferred"] is False and info["Size"] == 7
    assert (await s3_tus.http.get(url)).content == b"abcdefg"


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_concatenation_small_and_large(make_s3_tus: MakeS3Tus) -> None:
    tus = make_s3_tus(s3_part_size=5 * MiB)
    for sizes in ([10, 20, 5], [5 * MiB + 3, 6 * MiB, 100]):
        pieces = [os.urandom(size) for size in sizes]
        urls = [await tus.uploaded(piece, concat="partial") for piece in pieces]
        response = await tus.create(concat="final;" + " ".join(urls))
        assert response.status_code == 201, response.text
        final = response.headers["Location"]
        assert await tus.offset_of(final) == sum(sizes)
        assert (await tus.http.get(final)).content == b"".join(pieces)


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_checksummed_bodies_are_verified_before_they_are_stored(s3_tus: TusClient) -> None:
    import base64

    url = await s3_tus.new_upload(8)
    good = base64.b64encode(hashlib.sha1(b"abcd").digest()).decode()
    response = await s3_tus.patch(url, b"abcd", offset=0, headers={"Upload-Checksum": f"sha1 {good}"})
    assert response.status_code == 204, response.text
    bad = base64.b64encode(hashlib.sha1(b"nope").digest()).decode()
    response = await s3_tus.patch(url, b"efgh", offset=4, headers={"Upload-Checksum": f"sha1 {bad}"})
    assert response.status_code == 460, response.text
    assert await s3_tus.offset_of(url) == 4
    response = await s3_tus.patch(url, b"efgh", offset=4,
                                  headers={"Upload-Checksum": "sha1 " + base64.b64encode(
                                      hashlib.sha1(b"efgh").digest()).decode()})
    assert response.status_code == 204, response.text
    assert (await s3_tus.http.get(url)).content == b"abcdefgh"


async def test_options_advertises_the_extensions(s3_tus: TusClient, tmp_path: object) -> None:
    """Every capability the file store has, so exactly the same extensions."""
    from pathlib import Path

    from tusd_py import Settings, create_app

    file_tus = TusClient(create_app(Settings.from_env({}, upload_dir=Path(str(tmp_path)) / "files")), Path("."))
    try:
        expected = (await file_tus.options()).headers["Tus-Extension"]
    finally:
        await file_tus.aclose()
    extensions = (await s3_tus.options()).headers["Tus-Extension"]
    assert set(extensions.split(",")) == set(expected.split(","))
    assert {"creation", "creation-with-upload", "termination", "concatenation", "creation-defer-length",
            "checksum"} <= set(extensions.split(","))


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_the_sweeper_aborts_expired_uploads_multipart_uploads(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint,
                                                                     s3_bucket: str) -> None:
    import time

    tus = make_s3_tus(s3_part_size=5 * MiB, expire_after=3600.0)
    expiring = await tus.new_upload(20 * MiB)
    assert (await tus.patch(expiring, os.urandom(6 * MiB), offset=0)).status_code == 204
    finished = await tus.uploaded(b"kept")
    service = tus.app.state.service
    service.clock = lambda: time.time() + 7200  # two hours on: the unfinished upload is past its expiry
    assert await service.sweep() == 1
    assert s3_server.multipart_uploads(s3_bucket) == []
    remaining = {key for key in s3_server.keys(s3_bucket) if not key.startswith("tusd-py-gone/")}
    assert remaining == {object_id(finished), object_id(finished) + ".info"}
    assert (await tus.head(expiring)).status_code == 410
    assert (await tus.http.get(finished)).content == b"kept"


async def test_hooks_see_s3_storage_and_stages_get_a_local_copy(s3_server: S3Endpoint, s3_bucket: str,
                                                                s3_env: dict[str, str], tmp_path: object) -> None:
    from pathlib import Path

    from tusd_py import Settings, create_app
    from tusd_py.hooks.models import HookRequest
    from tusd_py.hooks.pipeline import Stage, StageContext

    seen: list[dict[str, str]] = []
    copies: list[tuple[Path, bytes]] = []

    def post_finish(request: HookRequest) -> None:
        seen.append(dict(request.storage))

    async def stage(context: StageContext) -> dict[str, int]:
        copies.append((context.path, context.path.read_bytes()))
        return {"size": context.path.stat().st_size}

    settings = Settings.from_env({}, s3_bucket=s3_bucket, s3_endpoint=s3_server.endpoint, s3_object_prefix="up")
    app = create_app(settings, hooks={"post-finish": post_finish}, pipeline=[Stage("measure", stage)])
    tus = TusClient(app, Path(str(tmp_path)))
    try:
        async with app.router.lifespan_context(app):
            url = await tus.uploaded(b"pipeline bytes")
            oid = object_id(url)

            async def processed() -> bool:
                info = await app.state.service.store.get_info(upload_id_of(url))
                return bool(seen) and (info.processing or {}).get("status") == "processed"

            from tests.support.waiting import eventually

            await eventually(processed, timeout=30)
    finally:
        await tus.aclose()
    assert seen == [{"Type": "s3store", "Bucket": s3_bucket, "Key": f"up/{oid}"}]
    assert copies[0][1] == b"pipeline bytes" and not copies[0][0].exists()  # the copy is gone after the run


async def test_ietf_uploads_of_unknown_length_complete_before_their_digest_is_read(
    s3_tus: TusClient, s3_server: S3Endpoint, s3_bucket: str
) -> None:
    """The draft's completing body declares the length: the multipart upload is completed (the `.part` tail as its
    last part) before the whole-upload SHA-256 is recorded, and the digest on GET is the bytes'."""
    import base64

    from tests.http.test_ietf_draft import append_headers, draft

    created = await s3_tus.http.post("/files/", headers=draft(8, False), content=b"hello ")
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    last = await s3_tus.http.patch(url, headers=append_headers(8, 6, True), content=b"world")
    assert last.status_code in (200, 204), last.text
    got = await s3_tus.http.get(url)
    assert got.content == b"hello world"
    expected = hashlib.sha256(b"hello world").digest()
    assert got.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(expected).decode()}:"
    assert s3_server.keys(s3_bucket)[object_id(url)] == 11


async def test_a_digest_stated_at_creation_is_checked_on_s3(s3_tus: TusClient) -> None:
    """The running SHA-256 this instance keeps checks a stated sha-256 without reading S3 back (it cannot read an
    unfinished multipart upload)."""
    import base64

    from tests.http.test_ietf_draft import append_headers, draft

    stated = "sha-256=:" + base64.b64encode(hashlib.sha256(b"first last").digest()).decode() + ":"
    created = await s3_tus.http.post("/files/", headers={**draft(8, False), "Repr-Digest": stated}, content=b"first ")
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    refused = await s3_tus.http.patch(url, headers=append_headers(8, 6, True), content=b"lost")
    assert refused.status_code == 400 and refused.json()["error_code"] == "digest_mismatch"
    assert await s3_tus.offset_of(url) == 6
    done = await s3_tus.http.patch(url, headers=append_headers(8, 6, True), content=b"last")
    assert done.status_code == 200, done.text
    assert (await s3_tus.http.get(url)).content == b"first last"


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_ranges_across_parts_are_read_from_s3(make_s3_tus: MakeS3Tus) -> None:
    tus = make_s3_tus(s3_part_size=5 * MiB)
    data = os.urandom(11 * MiB + 7)
    url = await tus.uploaded(data)
    edge = 5 * MiB  # the first part's end: a range across it reads from two parts of the object

    across = await tus.http.get(url, headers={"Range": f"bytes={edge - 10}-{edge + 9}"})
    suffix = await tus.http.get(url, headers={"Range": "bytes=-100"})
    several = await tus.http.get(url, headers={"Range": f"bytes=0-3,{2 * edge}-{2 * edge + 3}"})

    assert (across.status_code, across.content) == (206, data[edge - 10 : edge + 10])
    assert across.headers["Content-Range"] == f"bytes {edge - 10}-{edge + 9}/{len(data)}"
    assert (suffix.status_code, suffix.content) == (206, data[-100:])
    assert several.status_code == 206
    assert [content for _, content in byteranges(several)] == [data[:4], data[2 * edge : 2 * edge + 4]]
