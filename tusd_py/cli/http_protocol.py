"""uvicorn's httptools protocol with a bounded request head and a body path that does not copy the body."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from typing import TYPE_CHECKING

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from uvicorn._types import ASGIReceiveEvent
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from tusd_py.cli.zerocopy_send import ZeroCopySend
from tusd_py.http.download import ZEROCOPY_SEND
from tusd_py.http.informational import EXTENSION as INFORMATIONAL
from tusd_py.protocol.constants import TUS_VERSION
from tusd_py.protocol.errors import TusError
from tusd_py.uploads.socket_body import EXTENSION as SOCKET_BODY
from tusd_py.uploads.socket_body import MIN_LENGTH as SOCKET_BODY_MIN_LENGTH
from tusd_py.uploads.socket_body import DetachedBody

log = logging.getLogger("tusd_py.http")

LINGER_SECONDS = 2.0
DEFAULT_HEAD_LIMIT = 64 * 1024
# A body still arriving after its answer went out (the app refused it unread) is read and dropped, so the
# connection can serve the next request, only if this much or less of it is left; more, and it is closed.
DISCARD_LIMIT = 256 * 1024
_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
_INTERIM_REASONS = {104: b"Upload Resumption Supported"}
# Reading from the socket pauses once this much of a body waits for the application, and resumes when the
# application has taken it below that again. uvicorn pauses at 64 KiB, which with its 256 KB reads meant
# stopping and restarting the socket's reader for nearly every read of a fast upload.
BODY_HIGH_WATER = 1024 * 1024


class RequestBody:
    """One request's body on its way to the application: the received chunks themselves, one per message.

    uvicorn joins what arrived into a bytearray and copies that into a new `bytes` at each `receive()`; here
    each chunk the socket (or the parser) produced is handed over as it is. What the connection received
    before it dropped is still handed over before `http.disconnect`, so a dropped upload keeps those bytes.
    """

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self.cycle = cycle
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._ended = False  # the message's last byte arrived
        self._end_delivered = False  # the message with more_body=False went out
        cycle.receive = self.receive  # type: ignore[method-assign]  # the cycle's ASGI task looks it up when it starts

    def push(self, chunk: bytes) -> None:
        cycle = self.cycle
        self._chunks.append(chunk)
        self._queued += len(chunk)
        if self._queued > BODY_HIGH_WATER:
            cycle.flow.pause_reading()
        cycle.message_event.set()

    def end(self) -> None:
        self._ended = True
        self.cycle.message_event.set()

    def take_queued(self) -> list[bytes]:
        """Everything received and not yet handed over, for whoever takes the rest from the socket itself."""
        chunks, self._chunks, self._queued = list(self._chunks), deque(), 0
        return chunks

    async def receive(self) -> ASGIReceiveEvent:
        cycle = self.cycle
        _continue(cycle)
        while True:
            if cycle.response_complete:
                return {"type": "http.disconnect"}
            if self._chunks:
                chunk = self._chunks.popleft()
                self._queued -= len(chunk)
                if self._queued <= BODY_HIGH_WATER:
                    cycle.flow.resume_reading()
                more = bool(self._chunks) or not self._ended
                self._end_delivered = not more
                return {"type": "http.request", "body": chunk, "more_body": more}
            if cycle.disconnected:
                return {"type": "http.disconnect"}
            if self._ended and not self._end_delivered:
                self._end_delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            cycle.flow.resume_reading()
            cycle.message_event.clear()
            await cycle.message_event.wait()


def _continue(cycle: RequestResponseCycle) -> None:
    """Answer `Expect: 100-continue` once, when the body is first wanted."""
    if cycle.waiting_for_100_continue and not cycle.transport.is_closing():
        cycle.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        cycle.waiting_for_100_continue = False


class Informational:
    """Interim responses (the IETF draft's 104), offered as `scope["extensions"]["tusd_py.informational"]`.

    Written to the socket at once, and only while the final response has not started, on HTTP/1.1. A pending
    `Expect: 100-continue` is answered first: an interim response never stands in for `100 Continue`."""

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = cycle

    def __call__(self, status: int, headers: list[tuple[bytes, bytes]]) -> bool:
        cycle = self._cycle
        if (
            not 100 < status < 200
            or cycle.scope["http_version"] != "1.1"
            or cycle.response_started
            or cycle.response_complete
            or cycle.disconnected
            or cycle.transport.is_closing()
        ):
            return False
        _continue(cycle)
        lines = [b"HTTP/1.1 %d %s" % (status, _INTERIM_REASONS.get(status, b"Informational"))]
        lines += [name + b": " + value for name, value in headers]
        cycle.transport.write(b"\r\n".join(lines) + b"\r\n\r\n")
        return True


class KernelBody:
    """A body still in the socket, offered to the app as `scope["extensions"]["tusd_py.socket_body"]`.

    `detach()` pauses the transport's reading and hands the app the bytes already read plus a duplicate of the
    socket's descriptor; `reattach(taken)` counts what the app took from it, ends the message if that was the
    rest of the body, and lets the transport read again (a peer that closed meanwhile is found then)."""

    def __init__(self, protocol: BoundedHttpToolsProtocol, body: RequestBody, length: int) -> None:
        self._protocol = protocol
        self._body = body
        self.length = length
        self._fd: int | None = None

    def detach(self) -> DetachedBody | None:
        protocol, cycle = self._protocol, self._body.cycle
        transport = protocol.transport
        if (
            self._fd is not None
            or protocol._body is not self._body  # a later request is being read already
            or protocol._body_left <= 0
            or cycle.response_complete
            or cycle.disconnected
            or transport.is_closing()
            or transport.get_extra_info("sslcontext") is not None  # the socket holds ciphertext
        ):
            return None
        sock = transport.get_extra_info("socket")
        if sock is None:
            return None
        _continue(cycle)
        cycle.flow.pause_reading()
        self._fd = os.dup(sock.fileno())  # the thread's own: valid even if the transport closes meanwhile
        return DetachedBody(self._fd, protocol._body_left, self._body.take_queued())

    def reattach(self, taken: int) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        protocol = self._protocol
        protocol._body_left -= taken
        if not protocol._body_left:
            protocol._end_body()
        self._body.cycle.flow.resume_reading()


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop reading a head that passed its bound."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the bytes of the request line and headers as they are parsed; passes bodies on without copies.

    httptools sets no limit of its own, so without this a client could make the server hold any amount of
    header bytes. The bound is uvicorn's `h11_max_incomplete_event_size`, which h11 applies to the same thing.

    A GET is offered ASGI's zero-copy send (cli/zerocopy_send.py), so a download goes from the file to the socket
    in the kernel.

    A body with a Content-Length does not go through the parser once its head has been parsed: each block the
    socket delivers is the body chunk itself (only a block that also holds the start of the next request is
    split), and a fresh parser takes over after the body's last byte. The parser would copy every byte into
    a new object and uvicorn twice more; on a 1 GiB PATCH that was most of the server's own work.
    """

    send_idle_timeout: float | None = None  # a zero-copy send gives up once nothing could be sent for this long
    head_timeout: float | None = None  # a request head must be complete this long after its first byte (408)
    _head_timer: asyncio.TimerHandle | None = None
    _message_complete = True  # the last request's body has all arrived (or it had none)
    _draining = False  # reading and dropping the rest of a body whose answer went out already
    _head_bytes = 0
    _head_too_large = False
    _discarding = False
    _body: RequestBody | None = None
    _body_length: int | None = None  # the Content-Length of the message whose body is still to come
    _body_seen = 0  # bytes of that body the parser has passed on
    _body_left = 0  # bytes of that body still to come, read past the parser

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # a connection that never sends a whole head is answered 408 too

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        if self.head_timeout and self._head_timer is None:
            self._head_timer = asyncio.get_running_loop().call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        """No complete request head within the head timeout (or, after an early answer, not the rest of a body)."""
        self._head_timer = None
        if self._discarding or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # An earlier request is still being answered: a 408 now would land inside its response.
            cycle.keep_alive = False
            self._discarding = True
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        if self._draining:
            log.info(
                "connection from %s closed: the rest of a body answered already did not arrive in %gs",
                client,
                self.head_timeout,
                extra={"client": client, "timeout": self.head_timeout},
            )
        else:
            log.info(
                "connection from %s: 408 request_head_timeout, no complete request head in %gs",
                client,
                self.head_timeout,
                extra={"client": client, "timeout": self.head_timeout},
            )
            timeout = self.head_timeout
            error = TusError(
                408,
                "request_head_timeout",
                f"the request line and headers did not arrive within {timeout:g}s",
                {"timeout_seconds": timeout},
            )
            self.transport.write(_response(error))
        self._close_after_discarding()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._message_complete or self.transport.is_closing() or self._discarding:
            return
        # The answer went out before the body ended: the app will never read the rest.
        if not self._body_left or self._body_left > DISCARD_LIMIT:
            self._close_after_discarding()  # too much to read for nothing (or a chunked body of unknown length)
        else:
            self._draining = True
            self._start_head_timer()  # the rest of the body and the next head must come within the head timeout

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self._body_left:
            self._unset_keepalive_if_required()
            data = self._take_body(data)
            if not data:
                return
        super().data_received(data)
        if self._body_length is not None and not self._discarding and not self.transport.is_closing():
            self._body_left = self._body_length - self._body_seen
            self._body_length = None

    def _take_body(self, data: bytes) -> bytes:
        """Hand the body's bytes in `data` to the request; return what follows the body."""
        rest = b""
        if len(data) > self._body_left:
            data, rest = data[: self._body_left], data[self._body_left :]
        self._body_left -= len(data)
        if self._body is not None and not self.cycle.response_complete:
            self._body.push(data)
        if not self._body_left:
            self._end_body()
        return rest

    def _end_body(self) -> None:
        self.parser = self._new_parser()  # the old one still expects the body it never saw
        self.on_message_complete()

    def _new_parser(self) -> httptools.HttpRequestParser:
        parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # httptools < 0.6.3 has no leniencies
            parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn sets it
        return parser

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._stop_head_timer()  # a body answered early has ended: the head timeout starts again with the head
        self._start_head_timer()
        self._message_complete = False
        self._draining = False
        self._head_bytes = 0
        self._head_too_large = False
        self._body = None
        self._body_length = None
        self._body_seen = 0

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # a WebSocket: the connection is handed over, there is no request cycle
        self._body = RequestBody(self.cycle)
        extensions: dict[str, object] = self.scope.setdefault("extensions", {})  # type: ignore[assignment]
        if self.scope["method"] == "GET" and self.transport.get_extra_info("sslcontext") is None:
            extensions[ZEROCOPY_SEND] = {}
            ZeroCopySend(self.cycle, self.send_idle_timeout)
        if self.scope["method"] in ("POST", "PATCH", "PUT"):
            extensions[INFORMATIONAL] = Informational(self.cycle)
        if not self.parser.should_upgrade():  # after an upgrade the parser, not a length, says what follows
            self._body_length = _content_length(self.headers)
            if self._body_length is not None and self._body_length >= SOCKET_BODY_MIN_LENGTH:
                extensions[SOCKET_BODY] = KernelBody(self, self._body, self._body_length)
                # Whatever the socket holds may be the kernel's to move: reading it now would copy it twice for
                # nothing. The app's first receive(), its taking the socket or its response resumes reading.
                self.cycle.flow.pause_reading()

    def on_body(self, body: bytes) -> None:
        self._body_seen += len(body)  # counted even when dropped: the next request starts after the body
        if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
            return
        if self._body is not None:
            self._body.push(body)

    def on_message_complete(self) -> None:
        self._message_complete = True
        if self._draining:
            self._draining = False
            self._stop_head_timer()  # the rest of a body answered early came: the connection idles, as uvicorn sees it
        self._body_length = None
        if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
            return
        self.cycle.more_body = False
        if self._body is not None:
            self._body.end()

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


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body length of a message framed by one Content-Length (the parser has refused conflicting ones)."""
    length: int | None = None
    for name, value in headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
    return length


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
