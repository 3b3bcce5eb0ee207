"""One tus request at a time over httpx: OPTIONS, POST, HEAD and PATCH, each answer sorted into success or an error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from tusd_py.client.capabilities import ServerCapabilities
from tusd_py.client.errors import TransientError, UploadGone, UploadRejected
from tusd_py.client.retry import is_retryable, parse_retry_after
from tusd_py.protocol.metadata import format_metadata

TUS_VERSION = "1.0.0"


@dataclass(frozen=True)
class RemoteUpload:
    """What HEAD says about an upload."""

    url: str
    offset: int
    length: int | None


def _describe_network_error(error: httpx.TransportError) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if text != type(error).__name__ else text


def _server_message(response: httpx.Response) -> tuple[str | None, str]:
    """The error code and message of a tusd_py-style JSON error body, else a short piece of the body."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error_message"), str):
        code = body.get("error_code")
        return (code if isinstance(code, str) else None), body["error_message"]
    text = response.content[:200].decode("utf-8", errors="replace").strip()
    return None, text or response.reason_phrase


def check(response: httpx.Response, what: str) -> httpx.Response:
    """Return a 2xx response; raise TransientError, UploadGone or UploadRejected for the rest."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    code, message = _server_message(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    raise error_for_status(status, code, f"{what}: {status} {message}".rstrip(), retry_after)


def error_for_status(
    status: int, code: str | None, text: str, retry_after: float | None = None
) -> TransientError | UploadRejected:
    """The client error a failing status means, whichever way it came (an HTTP answer, an upload socket's error)."""
    if is_retryable(status):
        return TransientError(text, status=status, retry_after=retry_after)
    if status in (404, 410):
        return UploadGone(text, status=status, error_code=code)
    return UploadRejected(text, status=status, error_code=code)


class TusTransport:
    """Single attempts; retrying is the caller's choice. Every request carries Tus-Resumable and `headers`."""

    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.headers = {"Tus-Resumable": TUS_VERSION, **(headers or {})}

    async def _send(
        self,
        what: str,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        content: AsyncIterable[bytes] | None = None,
    ) -> httpx.Response:
        try:
            all_headers = {**self.headers, **(headers or {})}
            response = await self.client.request(method, url, headers=all_headers, content=content)
        except httpx.TransportError as error:
            raise TransientError(f"{what}: {_describe_network_error(error)}") from error
        return check(response, what)

    async def options(self, endpoint: str) -> ServerCapabilities:
        response = await self._send("OPTIONS", "OPTIONS", endpoint)
        return ServerCapabilities.from_headers(endpoint, response.headers)

    def creation_headers(self, length: int, concat: str | None) -> dict[str, str]:
        headers = {}
        if concat is None or concat == "partial":
            headers["Upload-Length"] = str(length)
        if concat is not None:
            headers["Upload-Concat"] = concat
        return headers

    async def create(
        self, endpoint: str, length: int, metadata: Mapping[str, str], concat: str | None = None
    ) -> RemoteUpload:
        """POST: a new upload of `length` bytes (or, with `concat` "final;…", the concatenation of partials)."""
        headers = self.creation_headers(length, concat)
        if metadata:
            headers["Upload-Metadata"] = format_metadata(dict(metadata))
        response = await self._send("create", "POST", endpoint, headers=headers)
        location = response.headers.get("location")
        if not location:
            raise UploadRejected("create: the server answered 201 without a Location", status=response.status_code)
        offset = response.headers.get("upload-offset", "0")
        return RemoteUpload(urljoin(endpoint, location), int(offset) if offset.isdigit() else 0, length)

    async def head(self, url: str) -> RemoteUpload:
        response = await self._send("HEAD", "HEAD", url)
        offset = response.headers.get("upload-offset", "")
        if not offset.isdigit():
            raise UploadRejected(f"HEAD {url}: no Upload-Offset in the answer", status=response.status_code)
        length = response.headers.get("upload-length", "")
        return RemoteUpload(url, int(offset), int(length) if length.isdigit() else None)

    async def patch(
        self, url: str, offset: int, size: int, body: AsyncIterable[bytes], checksum: str | None = None
    ) -> int:
        """Send `size` bytes at `offset`; returns the server's new offset."""
        headers = {
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(size),
        }
        if checksum is not None:
            headers["Upload-Checksum"] = checksum
        response = await self._send("PATCH", "PATCH", url, headers=headers, content=body)
        new_offset = response.headers.get("upload-offset", "")
        if not new_offset.isdigit():
            raise UploadRejected(f"PATCH {url}: no Upload-Offset in the answer", status=response.status_code)
        return int(new_offset)
