"""Copying one request body into one upload: it ends with the body, or when stopped, keeping what it stored."""

from __future__ import annotations

import asyncio
from enum import StrEnum

from starlette.types import Receive

from tusd_py.locking.base import ReleaseCause
from tusd_py.storage.base import Appender, WriteFenced


class StopReason(StrEnum):
    INTERRUPTED = "interrupted"  # another request on the same upload asked for the lock
    TIMEOUT = "timeout"  # no byte arrived for the network timeout
    SHUTDOWN = "shutdown"  # the server is stopping
    HOOK_STOPPED = "hook_stopped"  # a post-receive hook answered StopUpload
    LOCK_LOST = "lock_lost"  # the upload's lock could not be kept: writing on would be unsafe


class Transfer:
    """One body's journey. `stop()` cancels the copy; bytes already handed over stay stored."""

    def __init__(self, receive: Receive, *, idle_timeout: float | None) -> None:
        self._receive = receive
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

    async def _pump(self, appender: Appender, limit: int | None) -> None:
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
