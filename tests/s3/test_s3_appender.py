"""The S3 appender on its own, against the real SeaweedFS: what it reports stored is in S3, in order."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.support.seaweedfs import SeaweedFS
from tests.support.waiting import eventually
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.base import WriteFenced
from tusd_py.storage.s3 import S3Store

MiB = 2**20


@pytest.fixture
async def store(seaweedfs: SeaweedFS, s3_bucket: str, s3_env: dict[str, str]) -> S3Store:
    made = S3Store(s3_bucket, endpoint=seaweedfs.endpoint, part_size=5 * MiB, concurrency=3)
    yield made  # type: ignore[misc]
    await made.aclose()


async def new_upload(store: S3Store, size: int | None) -> UploadInfo:
    info = UploadInfo(id=os.urandom(8).hex(), size=size)
    await store.create(info)
    return await store.get_info(info.id)


async def test_a_paused_sender_still_gets_its_parts_stored(seaweedfs: SeaweedFS, s3_bucket: str,
                                                          s3_env: dict[str, str]) -> None:
    """A WebSocket client waits for its window's acknowledgement: a buffered part must not wait for more bytes."""
    store = S3Store(s3_bucket, endpoint=seaweedfs.endpoint, part_size=8 * MiB)
    try:
        info = await new_upload(store, 40 * MiB)
        reported: list[int] = []
        appender = store.open_appender(info, on_written=reported.append)
        await appender.write(os.urandom(6 * MiB))  # less than a part of 8 MiB, but one S3 takes: sent while paused
        await eventually(lambda: asyncio.sleep(0, bool(reported) and reported[-1] == 6 * MiB), timeout=30)
        await appender.close()
        assert (await store.get_info(info.id)).offset == 6 * MiB
    finally:
        await store.aclose()


async def test_written_counts_parts_in_order_and_the_tail(store: S3Store, seaweedfs: SeaweedFS,
                                                          s3_bucket: str) -> None:
    data = os.urandom(17 * MiB + 3)
    info = await new_upload(store, 30 * MiB)
    reported: list[int] = []
    appender = store.open_appender(info, on_written=reported.append)
    for start in range(0, len(data), 256 * 1024):
        await appender.write(data[start : start + 256 * 1024])
    await appender.flush()
    assert await appender.close() == len(data)
    assert reported == sorted(reported) and reported[-1] == len(data)
    assert (await store.get_info(info.id)).offset == len(data)
    object_id = info.id.rsplit("+", 1)[0]
    assert seaweedfs.keys(s3_bucket)[object_id + ".part"] == 2 * MiB + 3


async def test_a_fenced_appender_writes_nothing_more(store: S3Store) -> None:
    info = await new_upload(store, 30 * MiB)
    ours = [True]
    appender = store.open_appender(info, still_ours=lambda: ours[0])
    await appender.write(os.urandom(MiB))
    ours[0] = False
    with pytest.raises(WriteFenced):
        await appender.write(os.urandom(5 * MiB))
    await appender.close()
    assert appender.fenced and (await store.get_info(info.id)).offset == 0
