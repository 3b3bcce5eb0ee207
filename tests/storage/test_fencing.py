"""A writer whose lock is no longer certainly its own writes nothing more: `still_ours()` is asked before each block."""

from __future__ import annotations

from pathlib import Path

import pytest

from tusd_py.protocol.info import UploadInfo
from tusd_py.storage import FileStore
from tusd_py.storage.base import WriteFenced

BLOCK = 64 * 1024


class Lease:
    """What a lock tells its writer; the test decides when it runs out."""

    def __init__(self) -> None:
        self.valid = True

    def __call__(self) -> bool:
        return self.valid


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "uploads", block_size=BLOCK)


async def upload(store: FileStore) -> UploadInfo:
    info = UploadInfo(id="u1", size=None)
    await store.create(info)
    return info


async def test_blocks_written_while_the_lease_holds_are_kept(store: FileStore) -> None:
    appender = store.open_appender(await upload(store), still_ours=Lease())
    await appender.write(b"a" * (2 * BLOCK))

    assert await appender.close() == 2 * BLOCK
    assert not appender.fenced


async def test_a_held_block_is_dropped_once_the_lease_ran_out(store: FileStore) -> None:
    lease = Lease()
    appender = store.open_appender(await upload(store), still_ours=lease)
    await appender.write(b"a" * BLOCK)
    await appender.flush()
    await appender.write(b"b" * 1000)  # held, waiting for more

    lease.valid = False
    kept = await appender.close()

    assert kept == BLOCK and appender.fenced
    assert (store.directory / "u1").read_bytes() == b"a" * BLOCK


async def test_writing_after_the_lease_ran_out_raises_write_fenced(store: FileStore) -> None:
    lease = Lease()
    appender = store.open_appender(await upload(store), still_ours=lease)
    lease.valid = False
    await appender.write(b"a" * BLOCK)  # handed to the writing thread, which finds the lease gone
    await appender.flush()

    with pytest.raises(WriteFenced):
        await appender.write(b"b")
    await appender.close()
    assert (store.directory / "u1").read_bytes() == b""


async def test_a_staged_body_is_not_joined_once_the_lease_ran_out(store: FileStore) -> None:
    lease = Lease()
    appender = store.open_appender(await upload(store), staged=True, still_ours=lease)
    await appender.write(b"checked bytes")
    await appender.flush()

    lease.valid = False

    assert await appender.close(keep=True) == 0
    assert (store.directory / "u1").read_bytes() == b""
    assert not list(store.directory.glob(".*staging"))
