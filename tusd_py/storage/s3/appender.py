"""Appending a body to an S3 upload: parts cut from the body and uploaded concurrently while it still arrives.

Memory is bounded: one part filling plus at most `concurrency` parts in flight (a writer waits for a free slot).
`written` counts only what S3 acknowledged, in order: the parts numbered without a gap, and a tail put into the
`.part` object. The tail of a body that does not finish the upload is shorter than S3's smallest part goes to
`.part`; the next append starts its first part with those bytes. When the upload's last byte is stored, flush()
uploads the last part and completes the multipart upload, so the data object exists before anyone reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tusd_py.protocol.checksum import Hasher
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.base import WriteFenced
from tusd_py.storage.s3.layout import MIN_PART_SIZE, Listing, Part, part_size_for

MAX_HOLD_SECONDS = 0.25

if TYPE_CHECKING:
    from tusd_py.storage.s3.store import S3Store


class S3Writer:
    """What both S3 appenders share: the upload, the hasher, who hears of stored bytes, the fencing check."""

    def __init__(
        self,
        store: S3Store,
        info: UploadInfo,
        listing: Listing | None,
        *,
        hasher: Hasher | None = None,
        on_written: Callable[[int], None] | None = None,
        still_ours: Callable[[], bool] | None = None,
    ) -> None:
        self.written = 0
        self.fenced = False
        self._store = store
        self._info = info
        self._listing = listing
        self._hasher = hasher
        self._on_written = on_written
        self._still_ours = still_ours
        self._closed = False

    def _check_ours(self) -> None:
        """Raise WriteFenced (and drop what is buffered) once the upload's lock is no longer this writer's."""
        if self.fenced or (self._still_ours is not None and not self._still_ours()):
            self.fenced = True
            self._drop()
            raise WriteFenced

    def _drop(self) -> None:
        """Forget buffered bytes (fenced)."""

    def digest(self) -> bytes | None:
        return self._hasher.digest() if self._hasher is not None else None


class S3Appender(S3Writer):
    def __init__(self, store: S3Store, info: UploadInfo, listing: Listing | None, **options: Any) -> None:
        super().__init__(store, info, listing, **options)
        self._start = info.offset
        self._part_size = part_size_for(info.size, store.config.part_size)
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._carried = 0  # leading buffered bytes already stored in the `.part` object (counted)
        self._received = 0  # bytes given to write()
        self._slots = asyncio.Semaphore(store.config.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._done: dict[int, Part] = {}
        self._parts: list[Part] = []  # every part that counts, in order: the listing's, then this appender's
        self._next: int = 0
        self._reported = 0  # parts of this appender counted in `written`
        self._first_new = 0  # number of this appender's first part
        self._stored_parts = 0  # bytes of this appender's parts stored in order
        self._tail_stored = 0  # bytes the `.part` object holds that count
        self._tail_initial = 0  # the `.part`'s bytes when this appender began (counted before it)
        self._tail_part = 0  # the part number the `.part`'s bytes open
        self._failure: BaseException | None = None
        self._ready = False
        self._timer: asyncio.TimerHandle | None = None
        self._timed: asyncio.Task[None] | None = None

    # -- set-up ----------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        """Read what S3 holds (once): the parts, any `.part` tail to start the first part with, stale parts."""
        if self._ready:
            return
        listing = self._listing or await self._store.list_upload(self._info)
        self._listing = None
        if listing.stale:
            self._check_ours()
            await self._store.empty_parts(self._info, listing.stale)
        self._parts = list(listing.parts)
        self._next = self._first_new = listing.next_number
        if listing.tail_size:
            tail = await self._store.read_tail(self._info)
            if len(tail) != listing.tail_size:
                raise TusError(503, "storage_busy", "the upload's .part changed while read; retry",
                               {"upload_id": self._info.id}, {"Retry-After": "1"})
            self._pieces, self._buffered = [tail], len(tail)
            self._carried = self._tail_stored = self._tail_initial = len(tail)
            self._tail_part = self._next
        self._ready = True

    def _drop(self) -> None:
        self._pieces, self._buffered = [], 0

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # -- writing ---------------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        if self.fenced:
            raise WriteFenced
        self._raise_failure()
        if not data:
            return
        await self._prepare()
        data = data if type(data) is bytes else bytes(data)
        if self._hasher is not None:
            self._hasher.update(data)
        self._pieces.append(data)
        self._buffered += len(data)
        self._received += len(data)
        while self._buffered >= self._part_size:
            await self._dispatch(self._part_size, self._part_size)
        self._hold()

    def _hold(self) -> None:
        """A sender that pauses (a WebSocket client waiting for its window to be acknowledged) would leave a part
        that S3 could take in memory: after MAX_HOLD_SECONDS without bytes, what is buffered goes as a part if it
        is one (at least 5 MiB)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        if self._buffered >= MIN_PART_SIZE:
            self._timer = asyncio.get_running_loop().call_later(MAX_HOLD_SECONDS, self._send_held)

    def _send_held(self) -> None:
        self._timer = None
        if self._buffered >= MIN_PART_SIZE and not self._closed and self._failure is None and not self.fenced:
            self._timed = asyncio.get_running_loop().create_task(self._dispatch_held())

    async def _dispatch_held(self) -> None:
        try:
            await self._dispatch(self._part_size, MIN_PART_SIZE)
        except WriteFenced:
            pass
        except BaseException as error:
            if self._failure is None:
                self._failure = error

    async def _dispatch(self, most: int, least: int) -> None:
        """Once a slot is free, cut up to `most` buffered bytes (if at least `least` are there) into the next part
        and start uploading it. Nothing is taken before the slot: a writer cancelled while it waits loses nothing
        and leaves no gap in the part numbers."""
        await self._slots.acquire()
        try:
            self._check_ours()
            self._raise_failure()
        except BaseException:
            self._slots.release()
            raise
        size = min(most, self._buffered)
        if size < least or size == 0:
            self._slots.release()
            return
        body = self._take(size)
        self._carried -= min(self._carried, len(body))
        number = self._next
        self._next += 1
        task = asyncio.get_running_loop().create_task(self._upload(number, body))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def _take(self, size: int) -> bytes:
        """The first `size` buffered bytes, joined with one copy (only a split chunk's rest is copied again)."""
        taken: list[bytes | memoryview] = []
        count = 0
        while count < size:
            piece = self._pieces.pop(0)
            need = size - count
            if len(piece) > need:
                taken.append(memoryview(piece)[:need])
                self._pieces.insert(0, piece[need:])
                count = size
            else:
                taken.append(piece)
                count += len(piece)
        self._buffered -= size
        return b"".join(taken)

    async def _upload(self, number: int, body: bytes) -> None:
        try:
            part = await self._store.upload_part(self._info, number, body)
        except BaseException as error:
            if self._failure is None:
                self._failure = error
            return
        finally:
            self._slots.release()
        self._done[number] = part
        self._count_in_order()

    def _count_in_order(self) -> None:
        """Count the parts stored without a gap since the last counted one; a `.part` they include stops counting."""
        advanced = False
        while self._first_new + self._reported in self._done:
            part = self._done.pop(self._first_new + self._reported)
            self._parts.append(part)
            self._reported += 1
            self._stored_parts += part.size
            if self._tail_stored and part.number == self._tail_part:
                self._tail_stored = 0  # its bytes are in this part now
            advanced = True
        if advanced:
            self._report()

    def _report(self) -> None:
        written = self._stored_parts + self._tail_stored - self._tail_initial
        if written > self.written:
            self.written = written
            if self._on_written is not None:
                self._on_written(written)

    async def _drain(self) -> None:
        while self._in_flight:
            await asyncio.shield(asyncio.gather(*self._in_flight, return_exceptions=True))
        self._raise_failure()

    # -- ending ----------------------------------------------------------------------------------

    def _completes(self) -> bool:
        size = self._info.size
        return size is not None and self._start + self._received >= size

    async def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._timed is not None:
            await asyncio.shield(self._timed)
        if self.fenced:
            return
        self._raise_failure()
        if not self._received:
            return  # an empty body: nothing to store (a completion without bytes is save_info's, see store.finish)
        await self._prepare()
        completes = self._completes()
        while self._buffered and (completes or self._buffered >= MIN_PART_SIZE):
            await self._dispatch(self._part_size, 1 if completes else MIN_PART_SIZE)
        await self._drain()
        tail_removable = self._tail_part and not self._tail_stored
        if self._buffered and self._buffered > self._tail_stored:
            self._check_ours()
            await self._store.put_tail(self._info, b"".join(self._pieces), self._next)
            self._tail_stored, self._tail_part = self._buffered, self._next
            self._carried = self._buffered
            tail_removable = False
            self._report()
        if tail_removable:
            await self._store.delete_tail(self._info)
            self._tail_part = 0
        if completes:
            self._check_ours()
            await self._store.complete(self._info, self._parts)

    async def close(self, keep: bool = True) -> int:
        if self._closed:
            return self.written
        self._closed = True
        try:
            if self._failure is None and not self.fenced:
                await self.flush()
        finally:
            for task in list(self._in_flight):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*self._in_flight, return_exceptions=True)
        return self.written
