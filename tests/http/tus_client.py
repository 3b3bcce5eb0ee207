"""A thin tus client over httpx for in-process tests: it builds requests and reads the store, it decides nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.interop.stored_upload import S3Bucket, StoredUpload

TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"


def header_name(field: str) -> str:
    """`upload_length` -> `Upload-Length`."""
    return "-".join(part.capitalize() for part in field.split("_"))


def tus_headers(**fields: str | int) -> dict[str, str]:
    """`Tus-Resumable: 1.0.0` plus the given headers: `tus_headers(upload_length=5)`."""
    headers = {"Tus-Resumable": TUS_VERSION}
    headers.update({header_name(field): str(value) for field, value in fields.items()})
    return headers


def raw_headers(*pairs: tuple[str, str | bytes]) -> list[tuple[bytes, bytes]]:
    """Headers exactly as given: repeated names kept, values as any bytes."""
    return [
        (name.encode("latin-1"), value if isinstance(value, bytes) else value.encode("latin-1"))
        for name, value in pairs
    ]


def upload_id_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error contract: the status, Tus-Resumable, and a JSON body with error_code, error_message, details."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("Tus-Resumable") == TUS_VERSION
    if response.request.method == "HEAD":
        return {}
    assert response.headers.get("Content-Type", "").startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "error_message", "details"}
    assert isinstance(body["error_code"], str) and body["error_code"]
    assert isinstance(body["error_message"], str) and body["error_message"]
    assert isinstance(body["details"], dict)
    return body


class TusClient:
    """One in-process client of one app; `endpoint` is the creation URL path (mount path included)."""

    def __init__(
        self, app: Any, upload_dir: Path, endpoint: str = "/files/", storage: Path | S3Bucket | None = None
    ) -> None:
        # A 500 comes back as a response, so a test can say which request caused it.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.app = app
        self.upload_dir = upload_dir
        self.storage = upload_dir if storage is None else storage  # where the app's store keeps uploads
        self.endpoint = endpoint

    async def aclose(self) -> None:
        await self.http.aclose()
        if isinstance(self.storage, S3Bucket):  # the S3 store's client: no lifespan runs in process to close it
            await self.app.state.service.store.aclose()

    # -- requests ----------------------------------------------------------------------------

    async def create(
        self,
        length: int | None = None,
        *,
        defer: bool = False,
        metadata: str | None = None,
        concat: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST to the endpoint; `body` makes it creation-with-upload."""
        request_headers = tus_headers()
        if length is not None:
            request_headers["Upload-Length"] = str(length)
        if defer:
            request_headers["Upload-Defer-Length"] = "1"
        if metadata is not None:
            request_headers["Upload-Metadata"] = metadata
        if concat is not None:
            request_headers["Upload-Concat"] = concat
        if body is not None:
            request_headers["Content-Type"] = OFFSET_STREAM
        request_headers.update(headers or {})
        return await self.http.post(self.endpoint, headers=request_headers, content=body)

    async def new_upload(self, length: int | None = None, **options: Any) -> str:
        """Create an upload that must succeed; its Location."""
        response = await self.create(length, **options)
        assert response.status_code == 201, (response.status_code, response.text)
        return response.headers["Location"]

    async def uploaded(self, data: bytes, **options: Any) -> str:
        """A finished upload holding `data`, sent with one POST and one PATCH."""
        url = await self.new_upload(len(data), **options)
        response = await self.patch(url, data, offset=0)
        assert response.status_code == 204, (response.status_code, response.text)
        return url

    async def patch(
        self, url: str, body: Any = b"", *, offset: int | str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        request_headers = tus_headers(upload_offset=offset, content_type=OFFSET_STREAM)
        request_headers.update(headers or {})
        return await self.http.patch(url, headers=request_headers, content=body)

    async def head(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.head(url, headers=tus_headers() | (headers or {}))

    async def delete(self, url: str) -> httpx.Response:
        return await self.http.delete(url, headers=tus_headers())

    async def options(self, url: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.options(url or self.endpoint, headers=headers or {})

    async def offset_of(self, url: str) -> int:
        response = await self.head(url)
        assert response.status_code == 200, response.status_code
        return int(response.headers["Upload-Offset"])

    # -- the store: files on disk, or objects in S3 ----------------------------------------------

    def data_path(self, url: str) -> Path:
        return self.upload_dir / upload_id_of(url)

    def stored_bytes(self, url: str) -> bytes:
        if isinstance(self.storage, S3Bucket):
            return StoredUpload.load(self.storage, url).data
        return self.data_path(url).read_bytes()

    def stored_info(self, url: str) -> dict[str, Any]:
        if isinstance(self.storage, S3Bucket):
            return StoredUpload.load(self.storage, url).info
        info: dict[str, Any] = json.loads((self.upload_dir / (upload_id_of(url) + ".info")).read_text())
        return info

    def storage_field(self, url: str) -> dict[str, str]:
        """The `Storage` tusd's hooks and `.info` give for the upload: its files, or its bucket and data key."""
        if isinstance(self.storage, S3Bucket):
            object_id = upload_id_of(url).rpartition("+")[0]
            return {"Type": "s3store", "Bucket": self.storage.bucket, "Key": self.storage.key(object_id)}
        path = str(self.data_path(url))
        return {"Type": "filestore", "Path": path, "InfoPath": f"{path}.info"}

    def stored_anything(self, url: str) -> bool:
        """Whether anything of the upload is left in the store: its data file, or on S3 its `.info` object."""
        return StoredUpload.exists(self.storage, url)

    def stored_files(self) -> list[str]:
        """The names the store keeps: files of the upload directory, or object keys under the S3 prefix."""
        if isinstance(self.storage, S3Bucket):
            return self.storage.names()
        return sorted(path.name for path in self.upload_dir.iterdir()) if self.upload_dir.exists() else []
