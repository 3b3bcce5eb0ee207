"""Sending part of a file to a socket inside the kernel: sendfile(2), from the page cache to the socket.

The bytes never enter the process, and nothing reads them ahead into memory. `send_file_to_socket` blocks: it
runs in a thread of its own (SENDERS) while the event loop goes on, and returns when the bytes are all sent,
the peer is gone, nothing could be sent for `idle_timeout` seconds, or its `Stop` was set.
"""

from __future__ import annotations

import errno
import os
import select
import time

from tusd_py.storage.splice import IDLE_POLL_MS, SpliceResult, Splicers, Stop

CHUNK = 4 * 1024 * 1024  # at most this much a call, so a stop is seen between calls of a fast reader
_GONE = {errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT, errno.ENOTCONN}


def send_file_to_socket(
    sock_fd: int, file_fd: int, offset: int, count: int, *, stop: Stop, idle_timeout: float | None = None
) -> SpliceResult:
    """Send `count` bytes of `file_fd` from `offset` on to `sock_fd` (non-blocking). In the result, `eof` means
    the peer went away (or stopped reading for `idle_timeout`) before the last byte was sent."""
    result = SpliceResult()
    poller = select.poll()
    poller.register(sock_fd, select.POLLOUT)
    poller.register(stop.fd, select.POLLIN)
    stalled_since: float | None = None  # when the socket last refused more, with nothing sent since
    while result.moved < count:
        if stop.is_set:
            result.stopped = True
            break
        try:
            sent = os.sendfile(sock_fd, file_fd, offset + result.moved, min(CHUNK, count - result.moved))
        except BlockingIOError:
            now = time.monotonic()
            stalled_since = stalled_since or now
            if idle_timeout is not None and now - stalled_since >= idle_timeout:
                result.eof = True
                break
            poller.poll(IDLE_POLL_MS)
            continue
        except OSError as error:
            if error.errno not in _GONE:
                raise
            result.eof = True
            break
        if sent == 0:  # the file ended before `count`: it was cut short under us
            raise OSError(errno.EIO, "the file ended before the bytes to send")
        result.moved += sent
        stalled_since = None
    return result


# Each sendfile holds a thread for as long as its reader takes; past this many downloads at once, the others are
# read and written by the event loop as before. A pool apart from the splices: downloads never starve uploads.
SENDERS = Splicers(thread_name_prefix="tusd-py-sendfile")
