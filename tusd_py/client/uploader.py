"""The resumable uploader: create (or find again) the upload, PATCH the file in chunks, retry, and resume later."""

from __future__ import annotations

import asyncio
import functools
import mimetypes
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from tusd_py.client.capabilities import ServerCapabilities
from tusd_py.client.draft_transport import DraftTransport
from tusd_py.client.errors import ClientError, RetriesExhausted, TransientError, UploadRejected, UsageError
from tusd_py.client.file_source import Pacer, checksum_header, read_range
from tusd_py.client.fingerprint import FileIdentity, fingerprint
from tusd_py.client.parts import Part, split
from tusd_py.client.retry import OFFSET_UNCHANGED, RetryPolicy, with_retries
from tusd_py.client.socket_transport import SocketSend, SocketTransport
from tusd_py.client.transport import TusTransport
from tusd_py.client.url_store import StoredUpload, URLStore

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 8 * 2**20
TRANSPORTS = ("http", "websocket")  # PATCH requests, or the server's upload socket (tusd_py only)


@dataclass(frozen=True)
class UploadOptions:
    endpoint: str
    chunk_size: int = DEFAULT_CHUNK_SIZE
    parallel: int = 1
    checksum: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit: int | None = None  # bytes per second for all transfers together
    timeout: float = 60.0
    transport: str = "http"  # one of TRANSPORTS
    protocol: str = "tus"  # or "ietf": the IETF draft at its current interop version


@dataclass
class UploadResult:
    """How one file went. `resumed_from` is what the server already held; `bytes_sent` what this run sent."""

    path: Path
    size: int
    status: str = "uploaded"  # uploaded | failed | interrupted
    url: str | None = None
    resumed_from: int = 0
    bytes_sent: int = 0
    parts: int = 1
    seconds: float = 0.0
    error: ClientError | None = None

    @property
    def ok(self) -> bool:
        return self.status == "uploaded"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": str(self.path),
            "status": self.status,
            "url": self.url,
            "size": self.size,
            "resumed_from": self.resumed_from,
            "bytes_sent": self.bytes_sent,
            "parts": self.parts,
            "seconds": round(self.seconds, 3),
            "error": self.error.as_dict() if self.error is not None else None,
        }


class UploadListener:
    """Told what happens, for a progress display; every method does nothing unless overridden."""

    def started(self, path: Path, size: int, position: int, url: str, resumed: bool) -> None: ...

    def advanced(self, path: Path, position: int) -> None: ...

    def retrying(self, path: Path | None, error: TransientError, wait: float) -> None: ...

    def notice(self, path: Path, message: str) -> None: ...

    def finished(self, result: UploadResult) -> None: ...


class FileProgress:
    """Where one file stands: the sum of its parts' positions, and the bytes this run handed to the network."""

    def __init__(self, path: Path, parts: list[Part], listener: UploadListener) -> None:
        self.path = path
        self.positions = [part.offset for part in parts]
        self.sent = 0
        self.listener = listener

    @property
    def position(self) -> int:
        return sum(self.positions)

    def add(self, index: int, count: int) -> None:
        self.positions[index] += count
        self.sent += count
        self.listener.advanced(self.path, self.position)

    def set(self, index: int, offset: int) -> None:
        self.positions[index] = offset
        self.listener.advanced(self.path, self.position)


def default_metadata(path: Path) -> dict[str, str]:
    metadata = {"filename": path.name}
    filetype, _ = mimetypes.guess_type(path.name)
    if filetype is not None:
        metadata["filetype"] = filetype
    return metadata


class Uploader:
    """Uploads files to one tus endpoint: `async with Uploader(options) as uploader: await uploader.upload(path)`."""

    def __init__(
        self,
        options: UploadOptions,
        *,
        store: URLStore | None = None,
        listener: UploadListener | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.options = options
        self.store = store
        self.listener = listener or UploadListener()
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(options.timeout, connect=10.0))
        transport = DraftTransport if options.protocol == "ietf" else TusTransport
        self.transport = transport(self.client, options.headers)
        self.pacer = Pacer(options.rate_limit) if options.rate_limit else None
        self.socket: SocketTransport | None = None
        if options.transport == "websocket":
            self.socket = SocketTransport(options.endpoint, options.headers, options.timeout, self.pacer)
        elif options.transport != "http":
            raise UsageError(f"transport {options.transport!r}: choose one of {', '.join(TRANSPORTS)}")
        self._capabilities: ServerCapabilities | None = None

    async def __aenter__(self) -> Uploader:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._own_client:
            await self.client.aclose()

    # -- the server ---------------------------------------------------------------------------------------

    async def capabilities(self) -> ServerCapabilities:
        if self._capabilities is None:
            endpoint = self.options.endpoint
            self._capabilities = await self._retrying(None, lambda: self.transport.options(endpoint))
        return self._capabilities

    async def check_server(self) -> ServerCapabilities:
        """OPTIONS, then refuse (MissingCapability) what these options need and the server does not offer."""
        capabilities = await self.capabilities()
        capabilities.require("creation", "uploading")
        if self.options.parallel > 1:
            if self.socket is not None:
                raise UsageError("--parallel sends partial uploads over HTTP: it needs --transport http")
            capabilities.require("concatenation", f"--parallel {self.options.parallel}")
        if self.options.checksum is not None:
            capabilities.require_checksum(self.options.checksum)
        return capabilities

    # -- one file -----------------------------------------------------------------------------------------

    async def upload(self, path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None) -> UploadResult:
        """Upload (or resume) one file. Failures come back in the result; cancellation saves state and propagates."""
        result = UploadResult(Path(path), 0)
        began = time.monotonic()
        try:
            await self._upload(result, metadata or {})
        except (ClientError, OSError) as error:
            result.status = "failed"
            result.error = error if isinstance(error, ClientError) else UsageError(f"{path}: {error}")
        except asyncio.CancelledError:
            result.status = "interrupted"
            raise
        finally:
            result.seconds = time.monotonic() - began
            self.listener.finished(result)
        return result

    async def _upload(self, result: UploadResult, metadata: Mapping[str, str]) -> None:
        identity = await asyncio.to_thread(FileIdentity.of, result.path)
        result.size = identity.size
        capabilities = await self.check_server()
        capabilities.check_size(identity.size)
        key = fingerprint(identity, self.options.endpoint)
        parts = await self._resume(key, identity)
        if self.socket is not None:
            await self._upload_over_socket(result, key, identity, parts[0] if parts else None, metadata)
            if self.store is not None:
                await asyncio.to_thread(self.store.remove, key)
            return
        resumed = parts is not None
        if parts is None:
            parts = await self._start(key, identity, metadata)
        result.parts = len(parts)
        if len(parts) == 1:
            result.url = parts[0].url  # known now, so an interrupted or failed result says where it stands
        result.resumed_from = sum(part.offset for part in parts)
        progress = FileProgress(result.path, parts, self.listener)
        self.listener.started(result.path, identity.size, progress.position, parts[0].url, resumed)
        try:
            await _all(self._send_part(identity.path, part, index, progress) for index, part in enumerate(parts))
        finally:
            result.bytes_sent = progress.sent
        result.url = parts[0].url if len(parts) == 1 else await self._concatenate(parts, identity.path, metadata)
        if self.store is not None:
            await asyncio.to_thread(self.store.remove, key)

    def _metadata(self, path: Path, extra: Mapping[str, str]) -> dict[str, str]:
        return {**default_metadata(path), **self.options.metadata, **extra}

    async def _start(self, key: str, identity: FileIdentity, metadata: Mapping[str, str]) -> list[Part]:
        """Create the upload (or the partial uploads) and record it before a byte is sent."""
        endpoint = self.options.endpoint
        ranges = split(identity.size, self.options.parallel)
        if len(ranges) == 1:
            full = self._metadata(identity.path, metadata)
            remote = await self._retrying(identity.path, lambda: self.transport.create(endpoint, identity.size, full))
            parts = [Part(remote.url, 0, identity.size, remote.offset)]
        else:
            parts = []
            for start, length in ranges:
                create = functools.partial(self.transport.create, endpoint, length, {}, concat="partial")
                remote = await self._retrying(identity.path, create)
                parts.append(Part(remote.url, start, length, remote.offset))
        await self._record(key, identity, parts)
        return parts

    async def _record(self, key: str, identity: FileIdentity, parts: list[Part]) -> None:
        """Into the store before a byte is sent, so an interrupted run resumes it."""
        if self.store is not None:
            urls = [part.url for part in parts]
            endpoint = self.options.endpoint
            entry = StoredUpload(key, endpoint, str(identity.resolved), identity.size, urls, parallel=len(parts) > 1)
            await asyncio.to_thread(self.store.put, entry)

    async def _upload_over_socket(
        self, result: UploadResult, key: str, identity: FileIdentity, part: Part | None, metadata: Mapping[str, str]
    ) -> None:
        """Send the file over the upload socket: created by the first message unless resumed; after a transient
        failure, wait and resume on a new socket from the offset the server answers with."""
        assert self.socket is not None
        resumed = part is not None
        part = part or Part("", 0, identity.size)
        result.url, result.resumed_from = part.url or None, part.offset
        progress = FileProgress(result.path, [part], self.listener)

        async def created(url: str) -> None:
            result.url = url
            await self._record(key, identity, [part])
            self.listener.started(result.path, identity.size, 0, url, False)

        if resumed:
            self.listener.started(result.path, identity.size, part.offset, part.url, True)
        job = SocketSend(
            identity.path,
            part,
            self._metadata(identity.path, metadata),
            on_created=created,
            on_resumed=lambda offset: progress.set(0, offset),
            on_sent=lambda count: progress.add(0, count),
            chunk_size=self.options.chunk_size,
            checksum=self.options.checksum,
        )
        policy = self.options.retry
        failures = 0
        try:
            while True:
                before = part.offset
                try:
                    await self.socket.send(job)
                    return
                except TransientError as error:
                    # As over HTTP: the count starts again whenever the upload moved forward.
                    failures = 1 if part.offset > before else failures + 1
                    if failures > policy.retries:
                        raise RetriesExhausted(failures, error) from error
                    wait = policy.delay(failures, error.retry_after)
                    self.listener.retrying(result.path, error, wait)
                    await asyncio.sleep(wait)
        finally:
            result.bytes_sent = progress.sent

    async def _resume(self, key: str, identity: FileIdentity) -> list[Part] | None:
        """The parts of a recorded upload of this file, with what the server holds of each; None to start afresh."""
        if self.store is None:
            return None
        entry = await asyncio.to_thread(self.store.get, key)
        if entry is None:
            return None
        ranges = split(identity.size, len(entry.urls)) if entry.parallel else [(0, identity.size)]
        if len(ranges) != len(entry.urls):
            return None
        parts = []
        for url, (start, length) in zip(entry.urls, ranges, strict=True):
            try:
                remote = await self._retrying(identity.path, functools.partial(self.transport.head, url))
            except UploadRejected as error:  # 404, 410, 403: it is not there for us any more
                message = f"cannot resume the recorded upload ({error.message}); starting again"
                self.listener.notice(identity.path, message)
                await asyncio.to_thread(self.store.remove, key)
                return None
            if (remote.length is not None and remote.length != length) or remote.offset > length:
                self.listener.notice(identity.path, "the recorded upload does not match the file; starting again")
                await asyncio.to_thread(self.store.remove, key)
                return None
            parts.append(Part(url, start, length, remote.offset))
        return parts

    async def _send_part(self, path: Path, part: Part, index: int, progress: FileProgress) -> None:
        """PATCH the part chunk by chunk. After a transient failure: wait, HEAD for the real offset (unless the answer
        said nothing changed), go on from there. The failure count starts again whenever the upload moved forward,
        so a long upload survives many drops."""
        policy = self.options.retry
        failures = 0
        while not part.done:
            size = min(self.options.chunk_size, part.length - part.offset)
            try:
                await self._patch(path, part, index, size, progress)
                failures = 0
            except TransientError as error:
                failures += 1
                if failures > policy.retries:
                    raise RetriesExhausted(failures, error) from error
                wait = policy.delay(failures, error.retry_after)
                self.listener.retrying(path, error, wait)
                await asyncio.sleep(wait)
                if error.status in OFFSET_UNCHANGED:
                    continue
                remote = await self._retrying(path, lambda: self.transport.head(part.url))
                if remote.offset > part.offset:
                    failures = 0
                part.offset = remote.offset
                progress.set(index, part.offset)

    async def _patch(self, path: Path, part: Part, index: int, size: int, progress: FileProgress) -> None:
        start = part.start + part.offset
        checksum = None
        if self.options.checksum is not None:
            checksum = await checksum_header(path, start, size, self.options.checksum)
        body = read_range(path, start, size, pacer=self.pacer, on_block=lambda count: progress.add(index, count))
        new_offset = await self.transport.patch(part.url, part.offset, size, body, checksum)
        if new_offset <= part.offset or new_offset > part.length:
            raise UploadRejected(
                f"PATCH {part.url}: the server answered offset {new_offset} after {size} bytes at {part.offset}",
                status=204,
            )
        part.offset = new_offset
        progress.set(index, new_offset)

    async def _concatenate(self, parts: list[Part], path: Path, metadata: Mapping[str, str]) -> str:
        full = self._metadata(path, metadata)
        concat = "final;" + " ".join(part.url for part in parts)
        endpoint = self.options.endpoint
        remote = await self._retrying(path, lambda: self.transport.create(endpoint, 0, full, concat=concat))
        return remote.url

    async def _retrying(self, path: Path | None, attempt: Callable[[], Awaitable[T]]) -> T:
        return await with_retries(
            self.options.retry, attempt, lambda error, wait: self.listener.retrying(path, error, wait)
        )


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the coroutines together; the first failure cancels the others and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in coroutines:
                group.create_task(coroutine)
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
