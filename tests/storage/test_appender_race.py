"""The appender's count of stored bytes does not depend on the order in which the event loop runs callbacks."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tusd_py.protocol.info import UploadInfo
from tusd_py.storage import FileStore

BLOCK = 64 * 1024


async def test_close_counts_a_block_whose_write_finished_in_the_same_loop_turn(tmp_path: Path) -> None:
    # A PATCH's last block can finish writing in the same turn of the loop in which the request closes
    # its appender, before the write's done-callbacks ran: the answer must still count that block.
    loop = asyncio.get_running_loop()
    writer = ThreadPoolExecutor(max_workers=1)  # one worker: a job queued after the write runs after it
    loop.set_default_executor(writer)
    store = FileStore(tmp_path / "uploads", block_size=BLOCK)
    info = UploadInfo(id="u1", size=BLOCK)
    await store.create(info)
    appender = store.open_appender(info)

    await appender.write(os.urandom(BLOCK))  # a full block: handed to the writer thread
    writer.submit(lambda: None).result()  # blocks the loop until the write returned and queued its completion
    await asyncio.sleep(0)  # the completion runs; its callbacks queue up behind this task

    assert await appender.close() == BLOCK
