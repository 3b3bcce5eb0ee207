"""Copying one request body into one upload: it ends with the body, or when stopped, keeping what it stored."""

from __future__ import annotations

import asyncio
from enum import StrEnum

from starlette.types import Receive

from tusd_py.locking.base import ReleaseCause
from tusd_py.storage.base import Appender, SocketAppender, WriteFenced
from tusd_py.uploads.socket_body import MIN_LENGTH, SocketBody


class StopReason(StrEnum):
    INTERRUPTED = "interrupted"  # another request on the same upload asked for the lock
    TIMEOUT = "timeout"  # no byte arrived for the network timeout
    SHUTDOWN = "shutdown"  # the server is stopping
    HOOK_STOPPED = "hook_stopped"  # a post-receive hook answered StopUpload
    LOCK_LOST = "lock_lost"  # the upload's lock could not be kept: writing on would be unsafe


class Transfer:
    """One body's journey. `stop()` cancels the copy; bytes already handed over stay stored."""

    def __init__(self, receive: Receive, *, idle_timeout: float | None, socket_body: SocketBody | None = None) -> None:
        self._receive = receive
        self._socket_body = socket_body
        self._idle_timeout = idle_timeout
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self.stop_reason: StopReason | None = None
        self.received = 0
        self.body_complete = False
        self.disconnected = False
        self.overflow = False

    @property
    def may_splice(self) -> bool:
        """Whether storage may take the body from the socket in the kernel, past user space (and any hasher)."""
        return self._socket_body is not None

    @property
    def ended_cleanly(self) -> bool:
        """The whole body arrived and nothing stopped it."""
        return self.body_complete and self.stop_reason is None and not self.overflow

    def stop(self, reason: StopReason) -> None:
        if self._task is not None and self._task.done():
            return  # the body already ended on its own; nothing to interrupt
        if self.stop_reason is None:
            self.stop_reason = reason
        if self._task is not None:
            self._task.cancel()

    def lost_lock(self) -> None:
        """The lock was found lost once the copy had ended (a frozen process wakes past its lease with the body
        already read): that, not how the body looks, is how this transfer ended."""
        self.stop_reason = self.stop_reason or StopReason.LOCK_LOST

    def release(self, cause: ReleaseCause) -> None:
        """The lock's callback: another request wants the upload, or the lock was lost."""
        self.stop(StopReason.LOCK_LOST if cause is ReleaseCause.LOST else StopReason.INTERRUPTED)

    async def run(self, appender: Appender, limit: int | None) -> None:
        if self.stop_reason is not None:
            return
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        self._task = loop.create_task(self._pump(appender, limit))
        if self._idle_timeout:
            self._watchdog = loop.call_later(self._idle_timeout, self._check_idle)
        try:
            await self._task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.stop_reason is None or (current is not None and current.cancelling()):
                self._task.cancel()
                raise
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()

    def _check_idle(self) -> None:
        assert self._idle_timeout is not None
        loop = asyncio.get_running_loop()
        idle = loop.time() - self._last_activity
        if idle >= self._idle_timeout:
            self.stop(StopReason.TIMEOUT)
        else:
            self._watchdog = loop.call_later(self._idle_timeout - idle, self._check_idle)

    def _takes_socket(self, appender: Appender, limit: int | None) -> bool:
        body = self._socket_body
        return (
            body is not None
            and body.length >= MIN_LENGTH
            and (limit is None or body.length <= limit)  # a body too long for the upload goes the checked way
            and isinstance(appender, SocketAppender)
            and appender.takes_sockets()
        )

    async def _pump(self, appender: Appender, limit: int | None) -> None:
        if self._takes_socket(appender, limit) and await self._pump_socket(appender):  # type: ignore[arg-type]
            return
        await self._pump_messages(appender, limit)

    async def _pump_socket(self, appender: SocketAppender) -> bool:
        """Let storage take the body from the socket in the kernel; False when it could not start."""
        body = self._socket_body
        assert body is not None
        detached = body.detach()
        if detached is None:
            return False
        loop = asyncio.get_running_loop()
        taken = 0

        def moved(total: int) -> None:
            nonlocal taken
            taken = total
            self._last_activity = loop.time()
            self.received = already + total

        attached = False
        try:
            for chunk in detached.received:
                self.received += len(chunk)
                await appender.write(chunk)
            already = self.received
            result = await appender.take_from_socket(detached.fd, detached.length, on_moved=moved)
            if result is None:  # no splice thread free: the server reads the rest, and receive() brings it
                body.reattach(0)
                attached = True
                await self._pump_messages(appender, None)
                return True
        except WriteFenced:
            self.stop_reason = self.stop_reason or StopReason.LOCK_LOST
            return True
        finally:
            if not attached:
                body.reattach(taken)
        if result.fenced:
            self.stop_reason = self.stop_reason or StopReason.LOCK_LOST
        elif result.eof:
            self.disconnected = True
        elif result.moved == detached.length:
            self.body_complete = True
        return True

    async def _pump_messages(self, appender: Appender, limit: int | None) -> None:
        loop = asyncio.get_running_loop()
        receive = self._receive
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if chunk:
                self._last_activity = loop.time()
                if limit is not None and len(chunk) > limit - self.received:
                    chunk = chunk[: limit - self.received]
                    self.overflow = True
                self.received += len(chunk)
                try:
                    await appender.write(chunk)
                except WriteFenced:
                    self.stop_reason = self.stop_reason or StopReason.LOCK_LOST
                    return
                if self.overflow:
                    return
            if not more:
                self.body_complete = True
                return
