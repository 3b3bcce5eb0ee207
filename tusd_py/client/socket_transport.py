"""The server's upload socket (`<endpoint>upload`) as a way to send a file: one attempt creates or resumes the upload,
then sends binary frames within the server's window until it says the upload is complete (docs/websocket-upload.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from tusd_py.client.errors import ClientError, TransientError, UploadRejected, UsageError
from tusd_py.client.file_source import Pacer, checksum_header, read_range
from tusd_py.client.parts import Part
from tusd_py.client.transport import error_for_status

# Close codes 4000 + an HTTP status carry a refusal (4401 without credentials); the others (1006 a dropped
# connection, 1011 a storage or lock failure, 1012 a restart) are worth another attempt.
REFUSAL_CLOSE_CODES = range(4000, 5000)


def socket_url(endpoint: str) -> str:
    """`http://host/files/` → `ws://host/files/upload` (and https → wss)."""
    parts = urlsplit(endpoint)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, path + "upload", parts.query, ""))


def upload_id_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class SocketSend:
    """What one attempt sends and whom it tells. `part.url` empty: the first message creates the upload."""

    path: Path
    part: Part
    metadata: Mapping[str, str]
    on_created: Callable[[str], Awaitable[None]]  # the new upload's URL, before its first byte is sent
    on_resumed: Callable[[int], None]  # the offset the server holds, at the start of an attempt
    on_sent: Callable[[int], None]  # bytes handed to the socket
    chunk_size: int
    checksum: str | None = None  # an algorithm: each chunk is a checksummed segment


class SocketTransport:
    """Single attempts over the upload socket; retrying is the caller's choice, as with TusTransport."""

    def __init__(self, endpoint: str, headers: Mapping[str, str], timeout: float, pacer: Pacer | None) -> None:
        self.url = socket_url(endpoint)
        self.headers = dict(headers)
        self.timeout = timeout
        self.pacer = pacer

    async def send(self, job: SocketSend) -> None:
        """Create or resume, send the rest, return once the server stored the last byte. `job.part.offset` follows
        what the server acknowledged, so a failed attempt leaves it where the next one starts."""
        try:
            async with connect(self.url, additional_headers=self.headers, open_timeout=self.timeout) as socket:
                await _Attempt(socket, job, self.timeout, self.pacer).run()
        except InvalidStatus as error:
            status = error.response.status_code
            raise error_for_status(status, None, f"upload socket: the server answered {status}") from None
        except InvalidURI as error:
            raise UsageError(f"upload socket: {error}") from None
        except ConnectionClosed as closed:
            raise _closed(closed) from None
        except (OSError, TimeoutError, InvalidHandshake) as error:
            raise TransientError(f"upload socket: {type(error).__name__}: {error}".rstrip(": ")) from None


def _closed(closed: ConnectionClosed) -> ClientError:
    code = closed.rcvd.code if closed.rcvd is not None else 1006
    reason = closed.rcvd.reason if closed.rcvd is not None and closed.rcvd.reason else "connection lost"
    text = f"upload socket closed ({code}: {reason})"
    if code in REFUSAL_CLOSE_CODES:
        return error_for_status(code - 4000, None, text)
    return TransientError(text)


class _Attempt:
    """One connection: its messages in, its frames out."""

    def __init__(self, socket: ClientConnection, job: SocketSend, timeout: float, pacer: Pacer | None) -> None:
        self.socket = socket
        self.job = job
        self.timeout = timeout
        self.pacer = pacer
        self.sent = 0  # file offset (within the part) of the next byte to send
        self.acknowledged = asyncio.Condition()

    async def run(self) -> None:
        hello = await self._expect("connected")
        part = self.job.part
        if part.url:
            await self._say({"type": "resume", "upload_id": upload_id_of(part.url)})
            answer = await self._expect("resumed")
        else:
            await self._say({"type": "create", "size": part.length, "metadata": dict(self.job.metadata)})
            answer = await self._expect("created")
            part.url = str(answer["url"])
            await self.job.on_created(part.url)
        part.offset = self.sent = int(answer["offset"])
        self.job.on_resumed(part.offset)
        window = int(answer.get("window") or hello["window"])
        frame = int(answer.get("max_frame_size") or hello["max_frame_size"])
        try:
            async with asyncio.TaskGroup() as group:
                listening = group.create_task(self._listen())
                await self._send_rest(window, frame)
                await listening
        except BaseExceptionGroup as failures:
            # The server's own word (an error message) says more than the broken pipe the other side met.
            told = [failure for failure in failures.exceptions if isinstance(failure, ClientError)]
            first: BaseException = told[0] if told else failures.exceptions[0]
            raise first from None

    async def _send_rest(self, window: int, frame: int) -> None:
        part = self.job.part
        while self.sent < part.length:
            size = part.length - self.sent
            if self.job.checksum is not None:
                # A checksummed segment is acknowledged only once verified: it must fit the window.
                size = min(size, self.job.chunk_size, window)
                digest = await checksum_header(self.job.path, part.start + self.sent, size, self.job.checksum)
                await self._say({"type": "segment", "length": size, "checksum": digest})
            blocks = read_range(self.job.path, part.start + self.sent, size, pacer=self.pacer, largest_block=frame)
            async for block in blocks:
                await self._window_open_for(len(block), window)
                await self.socket.send(block)
                self.sent += len(block)
                self.job.on_sent(len(block))

    async def _window_open_for(self, count: int, window: int) -> None:
        """Never more than `window` bytes beyond what the server acknowledged as stored."""
        part = self.job.part
        async with self.acknowledged:
            await self.acknowledged.wait_for(lambda: self.sent + count - part.offset <= window)

    async def _listen(self) -> None:
        """Acknowledgements move `part.offset`; returns when the server says the upload is complete."""
        while True:
            message = await self._receive()
            if message.get("type") == "progress":
                async with self.acknowledged:
                    self.job.part.offset = int(message["offset"])
                    self.acknowledged.notify_all()
            elif message.get("status") == "completed":
                self.job.part.offset = self.job.part.length
                return

    async def _expect(self, status: str) -> dict[str, Any]:
        message = await self._receive()
        if message.get("status") != status:
            raise TransientError(f"upload socket: expected {status!r}, the server said {message.get('status')!r}")
        return message

    async def _receive(self) -> dict[str, Any]:
        """The server's next message; its `error` messages raised as the client error their status means."""
        try:
            async with asyncio.timeout(self.timeout):
                text = await self.socket.recv()
        except TimeoutError:
            raise TransientError(f"upload socket: nothing heard from the server for {self.timeout:g}s") from None
        try:
            message = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise UploadRejected("upload socket: the server sent something that is not a message", status=0)
        if message.get("type") == "error":
            status = int(message.get("status") or 500)
            text = f"upload socket: {status} {message.get('error_message', '')}".rstrip()
            raise error_for_status(status, message.get("error_code"), text)
        return message

    async def _say(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))
