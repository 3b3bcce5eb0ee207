"""One file part on its way into its upload: a short queue that the PATCH path reads as a request body."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

from starlette.types import Message

from tusd_py.hooks.models import RequestOrigin
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.patch import AppendRequest
from tusd_py.uploads.service import UploadService

QUEUED_CHUNKS = 4  # backpressure: the form is read no faster than storage takes it
_END: Message = {"type": "http.request", "body": b"", "more_body": False}
_GONE: Message = {"type": "http.disconnect"}


async def _no_body() -> Message:
    return _END


class FileSink:
    """Streams one file into a deferred-length upload through `UploadService.append`, hashing it on the way;
    `finish()` fixes the length at what arrived, which completes the upload."""

    def __init__(self, service: UploadService, info: UploadInfo, origin: RequestOrigin | None) -> None:
        self.service = service
        self.info = info
        self.origin = origin
        self.hasher = hashlib.sha256()
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=QUEUED_CHUNKS)
        self._task = asyncio.ensure_future(
            service.append(info.id, AppendRequest(offset=0), self._queue.get, origin=origin)
        )

    async def write(self, data: bytes) -> None:
        self.hasher.update(data)
        await self._put({"type": "http.request", "body": data, "more_body": True})

    async def finish(self) -> UploadInfo:
        await self._put(_END)
        info = await self._task
        return await self.service.append(
            info.id, AppendRequest(offset=info.offset, declared_length=info.offset), _no_body, origin=self.origin
        )

    async def abort(self) -> None:
        """The request ended or failed mid-file: the append ends as a PATCH whose client went away."""
        if not self._task.done():
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_GONE)
            if self._queue.full():
                self._task.cancel()
        with contextlib.suppress(TusError, asyncio.CancelledError, OSError):
            await self._task

    async def _put(self, message: Message) -> None:
        """Queue a message, unless the append ended first (too large, timed out): then its error is raised."""
        put = asyncio.ensure_future(self._queue.put(message))
        await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if put.done():
            return
        put.cancel()
        self._task.result()  # raises the append's error
        raise TusError(400, "form_file_ended", "the file's upload ended before the part did")
