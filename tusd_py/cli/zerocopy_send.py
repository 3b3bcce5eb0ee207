"""ASGI's zero-copy send for `tusd-py serve`: a response body goes from a file to the socket with sendfile(2).

The protocol offers `scope["extensions"]["http.response.zerocopysend"]` on plain-text connections. The app then
sends `{"type": "http.response.zerocopysend", "file": f, "offset": n, "count": n, "more_body": bool}` (ASGI's
own extension: `file` has a `fileno()`; `offset` defaults to its position, `count` to the rest of it), and the
bytes go from the page cache to the socket in a thread (storage/sendfile.py), never through the process. When
that cannot be done (uvicorn still holds unsent bytes, chunked framing, every sendfile thread busy) the file is
read and written the usual way, so the answer is the same either way.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from tusd_py.http.download import ZEROCOPY_SEND
from tusd_py.storage.sendfile import SENDERS, send_file_to_socket
from tusd_py.storage.splice import SpliceResult, Stop

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

COPY_CHUNK = 1024 * 1024


class ZeroCopySend:
    """One request cycle's `send`, taking `http.response.zerocopysend` messages besides uvicorn's own."""

    def __init__(self, cycle: RequestResponseCycle, idle_timeout: float | None) -> None:
        self.cycle = cycle
        self.idle_timeout = idle_timeout
        self._send = cycle.send
        cycle.send = self.send  # type: ignore[method-assign]  # the cycle's ASGI task looks it up when it starts

    async def send(self, message: Any) -> None:
        if message["type"] != ZEROCOPY_SEND:
            await self._send(message)
            return
        cycle = self.cycle
        if not cycle.response_started or cycle.response_complete:
            raise RuntimeError(f"'{ZEROCOPY_SEND}' is only allowed between the response's start and its end")
        if cycle.disconnected:
            return
        fd = message["file"].fileno()
        offset = message.get("offset")
        offset = os.lseek(fd, 0, os.SEEK_CUR) if offset is None else offset
        count = message.get("count")
        count = os.fstat(fd).st_size - offset if count is None else count
        more_body = bool(message.get("more_body", False))
        if cycle.scope["method"] == "HEAD":
            count = 0
        elif count > 0 and not await self._sendfile(fd, offset, count):
            await self._copy(fd, offset, count)
        if not cycle.disconnected and not more_body:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _sendfile(self, fd: int, offset: int, count: int) -> bool:
        """Send in the kernel; False when that cannot be done here (nothing was sent then)."""
        cycle = self.cycle
        transport = cycle.transport
        sock = transport.get_extra_info("socket")
        if (
            sock is None
            or cycle.chunked_encoding
            or transport.is_closing()
            or transport.get_write_buffer_size()  # the head (or more) still waits: it must go first
        ):
            return False
        sock_fd = os.dup(sock.fileno())  # the thread's own: valid even if the transport closes meanwhile
        stop = Stop()
        sending = SENDERS.try_submit(
            lambda: send_file_to_socket(sock_fd, fd, offset, count, stop=stop, idle_timeout=self.idle_timeout)
        )
        if sending is None:
            os.close(sock_fd)
            stop.close()
            return False
        try:
            result = await _until_done(asyncio.wrap_future(sending), stop)
        finally:
            os.close(sock_fd)
            stop.close()
        cycle.expected_content_length -= result.moved
        if result.moved < count:  # the client left, stalled or the server is stopping: the answer is cut short
            cycle.disconnected = True
            transport.close()
        return True

    async def _copy(self, fd: int, offset: int, count: int) -> None:
        loop = asyncio.get_running_loop()
        end = offset + count
        while offset < end and not self.cycle.disconnected:
            chunk = await loop.run_in_executor(None, os.pread, fd, min(COPY_CHUNK, end - offset), offset)
            if not chunk:
                raise RuntimeError("the file ended before the bytes to send")
            offset += len(chunk)
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _until_done(sending: asyncio.Future[SpliceResult], stop: Stop) -> SpliceResult:
    """The thread's result. Cancelled meanwhile (the server is stopping), the thread is stopped and waited
    for before the cancellation goes on: the caller may close the file as soon as this returns."""
    try:
        return await asyncio.shield(sending)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([sending])
        raise
