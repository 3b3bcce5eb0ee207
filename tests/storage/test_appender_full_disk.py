"""A slow sender on a full disk: the appender's timed hand-offs of held bytes meet the write failure too, and
leave it to the request (which sees it on its next write or flush) instead of to asyncio's "never retrieved" log."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from tests.support.small_disk import SmallDisk
from tusd_py.storage.appender import MAX_HOLD_SECONDS, FileAppender


async def test_a_failed_timed_hand_off_is_left_to_the_request(small_disk: SmallDisk) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    appender = FileAppender(small_disk.path / "upload")
    small_disk.fill()
    for _ in range(3):  # each byte is held, then handed off by the timer: the 2nd hand-off meets the 1st's ENOSPC
        try:
            await appender.write(b"x")
        except OSError:
            break
        await asyncio.sleep(MAX_HOLD_SECONDS * 5)
    with contextlib.suppress(OSError):  # the request hears of it here, or heard on a write already
        await appender.close()
    del appender  # with it, its hand-off tasks: a failure nobody retrieved is reported now
    gc.collect()
    await asyncio.sleep(0)
    assert reported == []
