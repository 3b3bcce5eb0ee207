"""Moving a request body from its socket into a file inside the kernel: splice(2) through a pipe.

The bytes never enter the process: the socket's pages go into the pipe by reference, and from the pipe into
the file's page cache with the only copy of the whole path. Linux only; `splice_works()` says whether the
directory's file system takes it.

`splice_socket_to_file` blocks: it runs in a thread of its own while the event loop goes on, and returns when
the body's bytes are all stored, the peer closed the connection, `still_ours()` said no, or its `Stop` was set
(the request was stopped). What it took from the socket is in the file when it returns.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PIPE_SIZE = 1024 * 1024  # the most an unprivileged process may ask for (fs.pipe-max-size)
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
REPORT_SECONDS = 0.02  # a stored byte is reported this long after it arrived at the latest
IDLE_POLL_MS = 1000  # a waiting splice still looks at its stop flag this often, should its eventfd be missed
_GONE = {errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT, errno.ENOTCONN}
# Each splice holds a thread for as long as its body takes to arrive, so splices have threads of their own
# (file reads and block writes keep the default executor); past this many at once, bodies take the usual path.
MAX_SPLICES = 64


class Stop:
    """Set from the event loop to end a splice: a flag it checks between moves, and an eventfd for its poll."""

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.is_set = False

    def set(self) -> None:
        if not self.is_set:
            self.is_set = True
            os.eventfd_write(self.fd, 1)

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class SpliceResult:
    moved: int = 0  # bytes taken from the socket and stored (sent from the file, for a sendfile)
    eof: bool = False  # the peer closed (or reset) the connection before the body ended
    fenced: bool = False  # `still_ours()` said no: nothing more was taken
    stopped: bool = False  # the `Stop` was set


def splice_socket_to_file(
    sock_fd: int,
    file_fd: int,
    offset: int,
    count: int,
    *,
    stop: Stop,
    still_ours: Callable[[], bool] | None = None,
    report: Callable[[int], None] | None = None,
    check_every: int = 4 * 1024 * 1024,
    body_offset: int = 0,
) -> SpliceResult:
    """Store up to `count` bytes of `sock_fd` (non-blocking) in `file_fd` (not O_APPEND) from `offset` on.

    `report(moved)` hears the running total each time the body (of which `body_offset` bytes were stored
    before) passes a multiple of `check_every`, and `REPORT_SECONDS` after a byte arrived at the latest: the
    moments the block appender would write. `still_ours()` is asked before the first byte and again each
    `check_every` bytes."""
    result = SpliceResult()
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # a smaller pipe still works, with more calls
        fcntl.fcntl(write_end, F_SETPIPE_SZ, PIPE_SIZE)
    poller = select.poll()
    poller.register(sock_fd, select.POLLIN | select.POLLRDHUP)
    poller.register(stop.fd, select.POLLIN)
    reports = _Reports(report, check_every, body_offset)
    next_check = 0  # `still_ours()` is asked once `moved` reaches this
    try:
        while result.moved < count:
            if stop.is_set:
                result.stopped = True
                break
            if still_ours is not None and result.moved >= next_check:
                next_check = result.moved + check_every
                if not still_ours():
                    result.fenced = True
                    break
            try:
                wanted = min(PIPE_SIZE, count - result.moved)
                taken = os.splice(sock_fd, write_end, wanted, flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
            except BlockingIOError:
                if not poller.poll(reports.wait_ms()):  # the sender paused: tell what arrived
                    reports.tell(result.moved)
                continue
            except OSError as error:
                if error.errno not in _GONE:
                    raise
                taken = 0
            if taken == 0:
                result.eof = True
                break
            _drain(read_end, file_fd, offset + result.moved, taken)
            result.moved += taken
            reports.stored(result.moved)
    finally:
        os.close(read_end)
        os.close(write_end)
    reports.tell(result.moved)
    return result


class _Reports:
    """When to tell the running total: when the body passes a multiple of `every`, or once the oldest untold
    byte is REPORT_SECONDS old. A fast sender is told of once per `every` bytes, like block writes."""

    def __init__(self, report: Callable[[int], None] | None, every: int, body_offset: int) -> None:
        self._report = report
        self._every = every
        self._body_offset = body_offset
        self._told = 0
        self._untold_since: float | None = None

    def stored(self, total: int) -> None:
        if (self._body_offset + total) // self._every > (self._body_offset + self._told) // self._every:
            self.tell(total)
        elif self._untold_since is None:
            self._untold_since = time.monotonic()
        elif time.monotonic() - self._untold_since >= REPORT_SECONDS:
            self.tell(total)

    def wait_ms(self) -> float:
        """How long a poll may wait: until untold bytes are due, and never long (the stop flag is checked)."""
        if self._untold_since is None:
            return IDLE_POLL_MS
        return max(0.0, (self._untold_since + REPORT_SECONDS - time.monotonic()) * 1000)

    def tell(self, total: int) -> None:
        self._untold_since = None
        if total > self._told:
            self._told = total
            if self._report is not None:
                self._report(total)


def _drain(read_end: int, file_fd: int, offset: int, count: int) -> None:
    """Move `count` bytes from the pipe into the file at `offset`."""
    while count:
        written = os.splice(read_end, file_fd, count, offset_dst=offset)
        if written == 0:
            raise OSError(errno.EIO, "splice into the file stored nothing")
        offset += written
        count -= written


class Splicers:
    """The threads splices run in (or sendfiles: storage/sendfile.py), how many are taken, and the bytes all
    finished ones moved."""

    def __init__(self, size: int = MAX_SPLICES, *, thread_name_prefix: str = "tusd-py-splice") -> None:
        self.size = size
        self._thread_name_prefix = thread_name_prefix
        self.running = 0
        self.bytes_moved = 0
        self._count_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def try_submit(self, work: Callable[[], SpliceResult]) -> Future[SpliceResult] | None:
        """Start `work` in a free thread; None when all are taken."""
        with self._count_lock:
            if self.running >= self.size:
                return None
            self.running += 1
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size, thread_name_prefix=self._thread_name_prefix)
        future = self._executor.submit(work)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, done: Future[SpliceResult]) -> None:
        moved = done.result().moved if done.exception() is None else 0
        with self._count_lock:
            self.running -= 1
            self.bytes_moved += moved


SPLICERS = Splicers()


@cache
def splice_works(directory: Path) -> bool:
    """Whether a pipe splices into a file in `directory` (Linux, and a file system that supports it)."""
    if not hasattr(os, "splice"):
        return False
    try:
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, b"x")
            with tempfile.TemporaryFile(dir=directory) as probe:
                return os.splice(read_end, probe.fileno(), 1, offset_dst=0) == 1
        finally:
            os.close(read_end)
            os.close(write_end)
    except OSError:
        return False
