"""Talking tus to a live hooked server: one shared client, and the requests that make every hook point fire."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx

from tests.support.live_server import LiveServer
from tests.support.s3_server import S3LiveServer
from tests.support.tus import OFFSET_BODY, TUS, upload_id


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


# One client for the module: making one per request costs more than the requests themselves.
HTTP = httpx.Client(timeout=30)


def create(server: LiveServer, length: int, tag: str, **pairs: str) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(tag=tag, **pairs)}
    return HTTP.post(server.endpoint, headers=headers)


def patch(url: str, offset: int, body: bytes | Iterator[bytes]) -> httpx.Response:
    return HTTP.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset)})


def head(url: str) -> httpx.Response:
    return HTTP.head(url, headers=TUS)


def delete(url: str) -> httpx.Response:
    return HTTP.delete(url, headers=TUS)


def lifecycle(server: LiveServer, tag: str, data: bytes = b"hello hooks") -> str:
    created = create(server, len(data), tag, filename="notes.txt")
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert patch(url, 0, data).status_code == 204
    assert delete(url).status_code == 204
    return url


def told_storage(server: LiveServer, url: str) -> dict[str, str]:
    """The `Storage` a hook is told for an upload of `server`: its files, or on S3 its bucket and data key."""
    if isinstance(server, S3LiveServer):
        return {"Type": "s3store", "Bucket": server.bucket, "Key": upload_id(url).rpartition("+")[0]}
    data_file = server.upload_dir.resolve() / upload_id(url)
    return {"Type": "filestore", "Path": str(data_file), "InfoPath": f"{data_file}.info"}


def paced_body(pieces: int, size: int) -> Iterator[bytes]:
    """A body sent at a pace, so a hook's answer arrives while the rest of it is still coming."""
    for _ in range(pieces):
        yield bytes(size)
        time.sleep(0.01)


def assert_refused_as_closed(response: httpx.Response) -> None:
    """The answer to a creation a hook refused with status 403, an X-Upload-Window header and a message."""
    assert response.status_code == 403
    assert response.headers["x-upload-window"] == "closed"
    assert response.json() == {
        "error_code": "upload_rejected",
        "error_message": "uploads are closed",
        "details": {"hook": "pre-create", "hook_response": {"message": "uploads are closed"}},
    }
