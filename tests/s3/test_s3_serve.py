"""`tusd-py serve --s3-bucket` as a real process: start-up checks in one line, /readyz naming S3, presigned GETs,
and a real client (tuspy) uploading through it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
from tusclient import client as tus_client

from tests.support.live_server import LiveServer
from tests.support.seaweedfs import SeaweedFS

MiB = 2**20


def serve_once(seaweedfs: SeaweedFS, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> (
        subprocess.CompletedProcess[str]):
    """Run `serve` expecting it to stop at start-up."""
    return subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve", "--port", "0", "--upload-dir", str(tmp_path / "unused"), *args],
        env={**os.environ, **seaweedfs.env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_bucket_stops_serve_in_one_line(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    done = serve_once(seaweedfs, tmp_path, "--s3-bucket", "no-such-bucket-here", "--s3-endpoint", seaweedfs.endpoint)
    assert done.returncode != 0
    assert done.stderr.strip() == "tusd-py: S3 bucket 'no-such-bucket-here' does not exist"
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_credentials_stop_serve_in_one_line(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    bucket = seaweedfs.create_bucket()
    done = serve_once(seaweedfs, tmp_path, "--s3-bucket", bucket, "--s3-endpoint", seaweedfs.endpoint,
                      env={"AWS_SECRET_ACCESS_KEY": "wrong"})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tusd-py: S3 bucket '{bucket}' refuses these credentials")


def test_an_unreachable_endpoint_stops_serve_in_one_line(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    from tests.support.live_server import free_port

    done = serve_once(seaweedfs, tmp_path, "--s3-bucket", "some-bucket", "--s3-endpoint",
                      f"http://127.0.0.1:{free_port()}")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "S3 could not be reached" in lines[0], done.stderr


def s3_server(seaweedfs: SeaweedFS, tmp_path: Path, bucket: str, *args: str) -> LiveServer:
    server = LiveServer(tmp_path / "unused", tmp_path / "server.log", "--s3-bucket", bucket, "--s3-endpoint",
                        seaweedfs.endpoint, "--s3-part-size", "5MiB", *args, env=seaweedfs.env())
    server.start()
    return server


def test_tuspy_uploads_through_serve_and_downloads_match(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    bucket = seaweedfs.create_bucket()
    server = s3_server(seaweedfs, tmp_path, bucket, "--s3-object-prefix", "a/b")
    try:
        data = os.urandom(12 * MiB + 123)
        source = tmp_path / "source.bin"
        source.write_bytes(data)
        uploader = tus_client.TusClient(server.endpoint).uploader(str(source), chunk_size=7 * MiB)
        uploader.upload()
        url = uploader.url
        assert url is not None
        object_id = url.rsplit("/", 1)[1].rsplit("+", 1)[0]
        keys = seaweedfs.keys(bucket, "a/b/")
        assert keys[f"a/b/{object_id}"] == len(data) and f"a/b/{object_id}.info" in keys
        got = httpx.get(url, timeout=30)
        assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
        ready = httpx.get(server.base_url + "/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
    finally:
        server.stop()


def test_presigned_downloads_redirect_to_s3(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    bucket = seaweedfs.create_bucket()
    server = s3_server(seaweedfs, tmp_path, bucket, "--s3-presign-downloads", "10m")
    try:
        data = b"presigned bytes"
        created = httpx.post(server.endpoint, headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                                                       "Upload-Metadata": "filename cmVwb3J0LnR4dA=="})
        url = created.headers["Location"]
        patched = httpx.patch(url, content=data, headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                                                          "Content-Type": "application/offset+octet-stream"})
        assert patched.status_code == 204
        answer = httpx.get(url)
        assert answer.status_code == 302
        location = answer.headers["Location"]
        assert location.startswith(seaweedfs.endpoint) and "X-Amz-Expires=600" in location
        fetched = httpx.get(location)
        assert fetched.status_code == 200 and fetched.content == data
        assert "report.txt" in fetched.headers.get("Content-Disposition", "")
    finally:
        server.stop()
