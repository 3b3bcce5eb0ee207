"""Faults on the S3 store with real processes: a server killed mid-PATCH, S3 stopped mid-PATCH, two instances
sharing one bucket through Redis. Each time the client resumes from HEAD and the bytes come out right."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

import httpx

from tests.support.live_server import LiveServer
from tests.support.raw_http import RawRequest
from tests.support.redis_server import RedisServer
from tests.support.seaweedfs import SeaweedFS
from tests.support.tus import OFFSET_BODY, TUS, create, offset_of, patch, payload, sha256, upload_id
from tests.support.waiting import wait_until

MiB = 2**20


def s3_server(seaweedfs: SeaweedFS, tmp_path: Path, bucket: str, name: str, *args: str) -> LiveServer:
    server = LiveServer(tmp_path / "unused", tmp_path / f"{name}.log", "--s3-bucket", bucket, "--s3-endpoint",
                        seaweedfs.endpoint, "--s3-part-size", "5MiB", "--s3-concurrent-part-uploads", "2", *args,
                        env=seaweedfs.env())
    server.start()
    return server


def parts_stored(seaweedfs: SeaweedFS, bucket: str, url: str) -> int:
    object_id, multipart_id = upload_id(url).rsplit("+", 1)
    listed = seaweedfs.client().list_parts(Bucket=bucket, Key=object_id, UploadId=multipart_id)
    return sum(int(part["Size"]) for part in listed.get("Parts", []))


def stored_info(seaweedfs: SeaweedFS, bucket: str, url: str) -> dict[str, object]:
    object_id = upload_id(url).rsplit("+", 1)[0]
    body = seaweedfs.client().get_object(Bucket=bucket, Key=f"{object_id}.info")["Body"].read()
    info: dict[str, object] = json.loads(body)
    return info


def patch_until_stored(server: LiveServer, seaweedfs: SeaweedFS, bucket: str, url: str, data: bytes,
                       sent: int, stored: int) -> RawRequest:
    """A PATCH of all of `data` that has sent `sent` bytes, once S3 holds `stored` bytes of parts."""
    headers = {**OFFSET_BODY, "Upload-Offset": "0", "Content-Length": str(len(data))}
    request = RawRequest(server.port, "PATCH", server.base_path + upload_id(url), headers)
    request.send(data[:sent])
    wait_until(lambda: parts_stored(seaweedfs, bucket, url) >= stored, timeout=60)
    return request


def send_quietly(request: RawRequest, data: bytes) -> None:
    with contextlib.suppress(OSError):
        request.send(data)


def test_a_server_killed_mid_patch_keeps_the_stored_parts(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    bucket = seaweedfs.create_bucket()
    data = payload(18 * MiB, seed=7)
    first = s3_server(seaweedfs, tmp_path, bucket, "first")
    try:
        url = create(first.endpoint, len(data))
        request = patch_until_stored(first, seaweedfs, bucket, url, data, 12 * MiB, 10 * MiB)
        first.kill()
        request.abort()
    finally:
        first.stop()
    second = s3_server(seaweedfs, tmp_path, bucket, "second")
    try:
        resumed_url = second.endpoint + upload_id(url)
        offset = offset_of(resumed_url)
        assert offset == 10 * MiB  # both parts, not the unfinished third
        response = patch(resumed_url, offset, data[offset:])
        assert response.status_code == 204, response.text
        got = httpx.get(resumed_url, timeout=60)
        assert sha256(got.content) == sha256(data)
        assert stored_info(seaweedfs, bucket, url)["TusdPy"]["sha256"] == sha256(data)  # type: ignore[index]
    finally:
        second.stop()


def test_s3_stopped_mid_patch_gives_a_json_5xx_then_the_upload_resumes(own_seaweedfs: SeaweedFS,
                                                                        tmp_path: Path) -> None:
    bucket = own_seaweedfs.create_bucket()
    data = payload(16 * MiB, seed=8)
    server = s3_server(own_seaweedfs, tmp_path, bucket, "server")
    try:
        url = create(server.endpoint, len(data))
        request = patch_until_stored(server, own_seaweedfs, bucket, url, data, 11 * MiB, 10 * MiB)
        own_seaweedfs.stop()
        # The server may answer before it has read the rest: send it beside reading, a refused send is no failure.
        sender = threading.Thread(target=send_quietly, args=(request, data[11 * MiB :]))
        sender.start()
        status, _, body = request.response(timeout=120)
        sender.join(60)
        assert status in (502, 503), (status, body)
        error = json.loads(body)
        assert error["error_code"] in ("storage_unavailable", "storage_error")
        ready = httpx.get(server.base_url + "/readyz", timeout=60)
        assert ready.status_code == 503 and "S3" in ready.text
        own_seaweedfs.start()
        offset = offset_of(url)
        assert offset == 10 * MiB
        response = patch(url, offset, data[offset:])
        assert response.status_code == 204, response.text
        assert sha256(httpx.get(url, timeout=60).content) == sha256(data)
    finally:
        server.stop()


def test_an_upload_begun_on_one_instance_finishes_on_the_other(seaweedfs: SeaweedFS, redis_server: RedisServer,
                                                                 tmp_path: Path) -> None:
    bucket = seaweedfs.create_bucket()
    data = payload(9 * MiB, seed=9)
    a = s3_server(seaweedfs, tmp_path, bucket, "a", "--redis-url", redis_server.url)
    b = s3_server(seaweedfs, tmp_path, bucket, "b", "--redis-url", redis_server.url)
    try:
        url = create(a.endpoint, len(data))
        assert patch(url, 0, data[: 6 * MiB]).status_code == 204
        on_b = b.endpoint + upload_id(url)
        assert offset_of(on_b) == 6 * MiB
        assert patch(on_b, 6 * MiB, data[6 * MiB :]).status_code == 204
        assert sha256(httpx.get(url, timeout=60).content) == sha256(data)
        assert httpx.head(url, headers=TUS).headers["Upload-Offset"] == str(len(data))
    finally:
        a.stop()
        b.stop()
