"""Graceful shutdown: on SIGINT/SIGTERM, end PATCHes (keeping their bytes, answering 503) and event streams at once,
so the ASGI server's wait for open connections is short and nothing is cut off mid-write."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def call_on_exit_signals(callback: Callable[[], None]) -> None:
    """Run `callback` on the event loop when an exit signal arrives, then the handler that was there before
    (uvicorn's, which starts its own shutdown). Call it once the server has installed its handlers."""
    loop = asyncio.get_running_loop()
    for sig in EXIT_SIGNALS:
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, previous: object = previous) -> None:
            loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)
