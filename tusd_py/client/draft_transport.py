"""The uploader's requests in the IETF draft's terms (the current interop version): a creation with
`Upload-Complete: ?0`, offset retrieval by HEAD, appends of `application/partial-upload`, the last one `?1`."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping

import httpx

from tusd_py.client.capabilities import ServerCapabilities
from tusd_py.client.errors import UploadRejected
from tusd_py.client.transport import RemoteUpload, TusTransport
from tusd_py.protocol.ietf.dialects import CURRENT_VERSION, INTEROP_HEADER, PARTIAL_UPLOAD


class DraftTransport(TusTransport):
    """Speaks interop version CURRENT_VERSION; remembers each upload's length to mark its last append complete."""

    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(client, headers)
        self.headers.pop("Tus-Resumable", None)
        self.headers[INTEROP_HEADER] = str(CURRENT_VERSION)
        self._lengths: dict[str, int] = {}

    async def options(self, endpoint: str) -> ServerCapabilities:
        # Without the interop header: the tus discovery answer says which extensions the server offers.
        plain = {name: value for name, value in self.headers.items() if name != INTEROP_HEADER}
        return await TusTransport(self.client, plain).options(endpoint)

    def creation_headers(self, length: int, concat: str | None) -> dict[str, str]:
        if concat is not None:
            raise UploadRejected("the IETF draft has no concatenation: use --parallel 1", status=400)
        return {"Upload-Complete": "?0", "Upload-Length": str(length)}

    async def create(
        self, endpoint: str, length: int, metadata: Mapping[str, str], concat: str | None = None
    ) -> RemoteUpload:
        remote = await super().create(endpoint, length, metadata, concat)
        self._lengths[remote.url] = length
        return remote

    async def head(self, url: str) -> RemoteUpload:
        remote = await super().head(url)
        if remote.length is not None:
            self._lengths[url] = remote.length
        return remote

    async def patch(
        self, url: str, offset: int, size: int, body: AsyncIterable[bytes], checksum: str | None = None
    ) -> int:
        last = self._lengths.get(url) == offset + size
        headers = {
            "Upload-Offset": str(offset),
            "Upload-Complete": "?1" if last else "?0",
            "Content-Type": PARTIAL_UPLOAD,
            "Content-Length": str(size),
        }
        response = await self._send("PATCH", "PATCH", url, headers=headers, content=body)
        value = response.headers.get("upload-offset", "")
        if value.isdigit():
            return int(value)
        return offset + size  # from interop 7 an append's answer need not carry the offset: it took the body
