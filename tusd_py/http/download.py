"""GET on an upload: the finished file, with ranges, validators and safe presentation headers."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import BinaryIO

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tusd_py.protocol import representation
from tusd_py.protocol.digests import format_repr_digest
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers, http_date
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.ranges import ByteRange, is_not_modified, parse_range, range_is_current
from tusd_py.storage.base import ContentReader, FileServer, Presigner


def entity_tag(info: UploadInfo) -> str:
    """Strong: a finished upload's bytes never change, and a new upload has a new id."""
    stamp = f"{info.id}:{info.size}:{info.completed_at or info.updated_at}"
    return '"' + hashlib.sha256(stamp.encode()).hexdigest()[:32] + '"'


# ASGI's zero-copy send: a server that offers it (`tusd-py serve` does, cli/zerocopy_send.py) takes a message
# naming a file, an offset and a count, and sends those bytes without the application reading them.
ZEROCOPY_SEND = "http.response.zerocopysend"


def require_complete(info: UploadInfo) -> int:
    """The finished upload's size; 409 while it is not finished."""
    if not info.is_complete or info.size is None:
        raise TusError(
            409,
            "upload_incomplete",
            "the upload is not finished yet; it can be downloaded once every byte has arrived",
            {"offset": info.offset, "length": info.size},
        )
    return info.size


def download_response(request: Request, info: UploadInfo, reader: ContentReader, *, sendfile: bool = True) -> Response:
    """`sendfile`: send from the file with ASGI's zero-copy send where the server offers it and the store has
    local files."""
    size = require_complete(info)
    headers = Headers(request.scope["headers"])
    etag = entity_tag(info)
    modified = info.completed_at or info.updated_at
    media_type = representation.content_type(info.metadata)
    validators = {"ETag": etag, "Last-Modified": http_date(modified), "Cache-Control": "private"}
    if is_not_modified(headers.get("If-None-Match"), headers.get("If-Modified-Since"), etag, modified):
        return Response(status_code=304, headers=validators)
    common = {
        **validators,
        "Accept-Ranges": "bytes",
        "Content-Disposition": representation.content_disposition(media_type, representation.filename(info.metadata)),
    }
    if info.sha256 is not None:  # RFC 9530, of the whole upload, recorded while its bytes arrived
        common["Repr-Digest"] = format_repr_digest(info.sha256)
    range_header = headers.get("Range")
    ranges = None
    if range_header is not None and range_is_current(headers.get("If-Range"), etag, modified):
        ranges = parse_range(range_header, size)
    zero_copy = sendfile and ZEROCOPY_SEND in request.scope.get("extensions", {}) and isinstance(reader, FileServer)
    return RangeResponse(reader, info, media_type, ranges, common, zero_copy=zero_copy)


async def presigned_redirect(info: UploadInfo, store: Presigner) -> Response:
    """302 to a presigned URL of the finished upload (--s3-presign-downloads): S3 serves the bytes, ranges and all."""
    require_complete(info)
    media_type = representation.content_type(info.metadata)
    disposition = representation.content_disposition(media_type, representation.filename(info.metadata))
    url = await store.presigned_url(info, disposition, media_type)
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


class RangeResponse(Response):
    """Streams the whole file (200), one range (206) or several (206 multipart/byteranges)."""

    def __init__(
        self,
        reader: ContentReader,
        info: UploadInfo,
        media_type: str,
        ranges: list[ByteRange] | None,
        headers: dict[str, str],
        *,
        zero_copy: bool = False,
    ) -> None:
        self.reader = reader
        self.info = info
        self.zero_copy = zero_copy
        size = info.size or 0
        self.parts: list[tuple[bytes, ByteRange]]
        if ranges is None:
            status, self.parts, self.trailer = 200, [(b"", ByteRange(0, size - 1))], b""
            headers["Content-Type"] = media_type
        elif len(ranges) == 1:
            status, self.parts, self.trailer = 206, [(b"", ranges[0])], b""
            headers["Content-Type"] = media_type
            headers["Content-Range"] = ranges[0].content_range(size)
        else:
            boundary = secrets.token_hex(16)
            status = 206
            self.parts = [
                (
                    f"{separator}--{boundary}\r\nContent-Type: {media_type}\r\n"
                    f"Content-Range: {r.content_range(size)}\r\n\r\n".encode(),
                    r,
                )
                for separator, r in zip(["", *["\r\n"] * (len(ranges) - 1)], ranges, strict=True)
            ]
            self.trailer = f"\r\n--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
        length = sum(len(head) + r.length for head, r in self.parts) + len(self.trailer)
        headers["Content-Length"] = str(length)
        super().__init__(status_code=status, headers=headers)

    async def _body(self) -> AsyncIterator[bytes]:
        for head, byte_range in self.parts:
            if head:
                yield head
            if byte_range.length > 0:
                async for chunk in self.reader.read(self.info, byte_range.start, byte_range.last + 1):
                    yield chunk
        if self.trailer:
            yield self.trailer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.zero_copy:
            assert isinstance(self.reader, FileServer)
            with self.reader.open_file(self.info) as file:  # before the start: a vanished upload is still a 404
                await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
                await self._send_from(file, send)
            return
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        gone = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            async for chunk in self._body():
                if gone.done():
                    return  # the client left: stop reading the file
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()

    async def _send_from(self, file: BinaryIO, send: Send) -> None:
        """The same body, each range's bytes named to the server instead of read: it sends them itself (and
        finds out on its own when the client has gone)."""
        for head, byte_range in self.parts:
            if head:
                await send({"type": "http.response.body", "body": head, "more_body": True})
            if byte_range.length > 0:
                await send(
                    {
                        "type": ZEROCOPY_SEND,
                        "file": file,
                        "offset": byte_range.start,
                        "count": byte_range.length,
                        "more_body": True,
                    }
                )
        await send({"type": "http.response.body", "body": self.trailer, "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
