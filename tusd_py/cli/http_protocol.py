"""uvicorn's httptools protocol with a bounded request head: an oversized head is answered 431 before it is kept."""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tusd_py.protocol.constants import TUS_VERSION
from tusd_py.protocol.errors import TusError

LINGER_SECONDS = 2.0
DEFAULT_HEAD_LIMIT = 64 * 1024
_REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop reading a head that passed its bound."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes of the request line and headers as they are parsed.

    httptools sets no limit of its own, so without this a client could make the server hold any amount of
    header bytes. The bound is uvicorn's `h11_max_incomplete_event_size`, which h11 applies to the same thing.
    """

    _head_bytes = 0
    _head_too_large = False
    _discarding = False

    def data_received(self, data: bytes) -> None:
        if not self._discarding:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_too_large = False

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    @property
    def _limit(self) -> int:
        return self.config.h11_max_incomplete_event_size or DEFAULT_HEAD_LIMIT

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self._limit:
            self._head_too_large = True
            raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        """Every request the parser refuses gets a JSON error, like any other error of the server."""
        limit = self._limit
        if self._head_too_large:
            error = TusError(
                431, "headers_too_large", f"the request line and headers exceed {limit} bytes", {"limit": limit}
            )
        else:
            error = TusError(400, "malformed_request", "the request is not valid HTTP/1.1")
        self.transport.write(_response(error))
        self._close_after_discarding()

    def _close_after_discarding(self) -> None:
        """Close the way nginx's lingering close does: our FIN first, then read and drop what the client still sends.

        Closing at once with unread bytes in the socket makes the kernel answer with a reset, and a client still
        sending its oversized head would then never read the error.
        """
        self._discarding = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)


def _response(error: TusError) -> bytes:
    body = json.dumps(error.body()).encode()
    head = [
        b"HTTP/1.1 %d %s" % (error.status, _REASONS[error.status]),
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"tus-resumable: " + TUS_VERSION.encode(),
        b"x-content-type-options: nosniff",
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body
