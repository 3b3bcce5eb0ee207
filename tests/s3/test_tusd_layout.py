"""tusd's s3store layout both ways: buckets written exactly as tusd v2 writes them are resumed and served by
tusd_py, and what tusd_py writes has tusd's shape. The objects are made with botocore over real HTTP."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest

from tests.http.tus_client import TusClient, upload_id_of
from tests.s3.conftest import MakeS3Tus
from tests.support.s3_endpoint import S3Endpoint

MiB = 2**20
TUSD_INFO_KEYS = {"ID", "Size", "SizeIsDeferred", "Offset", "MetaData", "IsPartial", "IsFinal", "PartialUploads",
                  "Storage"}


def tusd_upload(s3_server: S3Endpoint, bucket: str, prefix: str, size: int | None,
                parts: list[bytes], tail: bytes | None, *, finish: bool = False,
                metadata: dict[str, str] | None = None) -> str:
    """An upload as tusd's s3store leaves it: returns its id (`objectId+multipartId`)."""
    s3 = s3_server.client()
    object_id = uuid.uuid4().hex  # tusd's uid.Uid(): 32 hex digits
    key = prefix + object_id
    multipart_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    upload_id = f"{object_id}+{multipart_id}"
    info: dict[str, Any] = {
        "ID": upload_id,
        "Size": size or 0,
        "SizeIsDeferred": size is None,
        "Offset": 0,
        "MetaData": metadata or {},
        "IsPartial": False,
        "IsFinal": False,
        "PartialUploads": None,
        "Storage": {"Type": "s3store", "Bucket": bucket, "Key": key},
    }
    s3.put_object(Bucket=bucket, Key=key + ".info", Body=json.dumps(info).encode())
    etags = []
    for number, body in enumerate(parts, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key=key, UploadId=multipart_id, PartNumber=number,
                                    Body=body)["ETag"])
    if tail is not None:
        s3.put_object(Bucket=bucket, Key=key + ".part", Body=tail)
    if finish:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=multipart_id, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]})
    return upload_id


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_an_unfinished_tusd_upload_is_resumed(s3_tus: TusClient, s3_server: S3Endpoint, s3_bucket: str) -> None:
    data = os.urandom(8 * MiB)
    upload_id = tusd_upload(s3_server, s3_bucket, "", len(data), [data[: 5 * MiB]], data[5 * MiB : 6 * MiB],
                            metadata={"filename": "tusd.bin"})
    url = "/files/" + upload_id
    head = await s3_tus.head(url)
    assert head.status_code == 200, head.text
    assert head.headers["Upload-Offset"] == str(6 * MiB) and head.headers["Upload-Length"] == str(len(data))
    response = await s3_tus.patch(url, data[6 * MiB :], offset=6 * MiB)
    assert response.status_code == 204, response.text
    assert (await s3_tus.http.get(url)).content == data
    object_id = upload_id.rsplit("+", 1)[0]
    assert set(s3_server.keys(s3_bucket)) == {object_id, object_id + ".info"}


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_a_finished_tusd_upload_is_served(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint, s3_bucket: str) -> None:
    tus = make_s3_tus(s3_object_prefix="tus/files")
    data = os.urandom(5 * MiB + 10)
    upload_id = tusd_upload(s3_server, s3_bucket, "tus/files/", len(data), [data[: 5 * MiB], data[5 * MiB :]],
                            None, finish=True)
    url = "/files/" + upload_id
    head = await tus.head(url)
    assert head.headers["Upload-Offset"] == str(len(data))  # tusd's .info says Offset 0: it is not maintained
    assert (await tus.http.get(url)).content == data
    ranged = await tus.http.get(url, headers={"Range": "bytes=-10"})
    assert ranged.status_code == 206 and ranged.content == data[-10:]


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_a_deferred_length_tusd_upload_takes_its_length(s3_tus: TusClient, s3_server: S3Endpoint,
                                                              s3_bucket: str) -> None:
    data = os.urandom(5 * MiB + 300)
    upload_id = tusd_upload(s3_server, s3_bucket, "", None, [data[: 5 * MiB]], None)
    url = "/files/" + upload_id
    head = await s3_tus.head(url)
    assert head.headers["Upload-Defer-Length"] == "1" and head.headers["Upload-Offset"] == str(5 * MiB)
    response = await s3_tus.patch(url, data[5 * MiB :], offset=5 * MiB, headers={"Upload-Length": str(len(data))})
    assert response.status_code == 204, response.text
    assert (await s3_tus.http.get(url)).content == data
    info = json.loads(s3_server.client().get_object(Bucket=s3_bucket, Key=upload_id.rsplit("+", 1)[0] + ".info")
                      ["Body"].read())
    assert info["Size"] == len(data) and info["SizeIsDeferred"] is False


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_what_tusd_py_writes_has_tusds_shape(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint,
                                                   s3_bucket: str) -> None:
    tus = make_s3_tus(s3_object_prefix="a/b")
    url = await tus.new_upload(6 * MiB, metadata="filename eC5iaW4=")
    upload_id = upload_id_of(url)
    object_id, multipart_id = upload_id.rsplit("+", 1)
    s3 = s3_server.client()
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]] == [multipart_id]
    assert (await tus.patch(url, os.urandom(2 * MiB), offset=0)).status_code == 204
    keys = s3_server.keys(s3_bucket)
    assert set(keys) == {f"a/b/{object_id}.info", f"a/b/{object_id}.part"} and keys[f"a/b/{object_id}.part"] == 2 * MiB
    info = json.loads(s3.get_object(Bucket=s3_bucket, Key=f"a/b/{object_id}.info")["Body"].read())
    assert set(info) >= TUSD_INFO_KEYS and info["ID"] == upload_id
    assert info["Storage"] == {"Type": "s3store", "Bucket": s3_bucket, "Key": f"a/b/{object_id}"}
    assert info["MetaData"] == {"filename": "x.bin"} and info["Size"] == 6 * MiB and not info["SizeIsDeferred"]


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_parts_beyond_a_gap_do_not_count_and_are_replaced(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint,
                                                                s3_bucket: str) -> None:
    """A crash with parts in flight can leave part 3 without part 2: the offset stops at the gap."""
    tus = make_s3_tus(s3_part_size=5 * MiB)
    data = os.urandom(16 * MiB)
    url = await tus.new_upload(len(data))
    object_id, multipart_id = upload_id_of(url).rsplit("+", 1)
    s3 = s3_server.client()
    s3.upload_part(Bucket=s3_bucket, Key=object_id, UploadId=multipart_id, PartNumber=1, Body=data[: 5 * MiB])
    s3.upload_part(Bucket=s3_bucket, Key=object_id, UploadId=multipart_id, PartNumber=3, Body=os.urandom(5 * MiB))
    assert await tus.offset_of(url) == 5 * MiB
    response = await tus.patch(url, data[5 * MiB :], offset=5 * MiB)
    assert response.status_code == 204, response.text
    assert (await tus.http.get(url)).content == data


@pytest.mark.s3_servers("seaweedfs", "moto")
async def test_a_stale_part_object_after_a_crash_counts_nothing(make_s3_tus: MakeS3Tus, s3_server: S3Endpoint,
                                                                 s3_bucket: str) -> None:
    """A crash between the part that took the `.part`'s bytes and the `.part`'s removal leaves both."""
    tus = make_s3_tus(s3_part_size=5 * MiB)
    data = os.urandom(7 * MiB)
    url = await tus.new_upload(len(data))
    assert (await tus.patch(url, data[: MiB], offset=0)).status_code == 204
    object_id, multipart_id = upload_id_of(url).rsplit("+", 1)
    s3 = s3_server.client()
    stale = s3.get_object(Bucket=s3_bucket, Key=object_id + ".part")
    assert stale["Metadata"] == {"tusd-py-next-part": "1"}
    s3.upload_part(Bucket=s3_bucket, Key=object_id, UploadId=multipart_id, PartNumber=1, Body=data[: 5 * MiB])
    assert await tus.offset_of(url) == 5 * MiB  # the part, not the part plus the `.part`
    response = await tus.patch(url, data[5 * MiB :], offset=5 * MiB)
    assert response.status_code == 204, response.text
    assert (await tus.http.get(url)).content == data
