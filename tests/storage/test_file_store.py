"""The file store's own guarantees: staged bytes join only when kept, assembly is all or nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.support.waiting import eventually
from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage import FileStore
from tusd_py.storage.file import READ_CHUNK


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "uploads", block_size=64 * 1024)


async def new_upload(store: FileStore, upload_id: str, size: int | None, **fields: object) -> UploadInfo:
    info = UploadInfo(id=upload_id, size=size, **fields)  # type: ignore[arg-type]
    await store.create(info)
    return info


async def test_the_offset_is_the_data_files_size(store: FileStore) -> None:
    info = await new_upload(store, "u1", 10)
    appender = store.open_appender(info)
    await appender.write(b"12345")
    assert await appender.close() == 5
    assert (await store.get_info("u1")).offset == 5


async def test_large_bodies_are_written_in_blocks_in_order(store: FileStore) -> None:
    info = await new_upload(store, "u1", None)
    data = os.urandom(1_000_000)
    appender = store.open_appender(info)
    for start in range(0, len(data), 7_000):
        await appender.write(data[start : start + 7_000])
    await appender.close()
    assert (store.directory / "u1").read_bytes() == data


async def test_a_staged_body_joins_the_upload_only_when_kept(store: FileStore) -> None:
    info = await new_upload(store, "u1", 10)
    dropped = store.open_appender(info, staged=True)
    await dropped.write(b"wrong")
    assert await dropped.close(keep=False) == 0
    assert (store.directory / "u1").read_bytes() == b""

    kept = store.open_appender(info, staged=True, hasher=hashlib.new("sha1"))  # type: ignore[arg-type]
    await kept.write(b"right")
    await kept.flush()
    assert kept.digest() == hashlib.sha1(b"right").digest()
    assert await kept.close(keep=True) == 5
    assert (store.directory / "u1").read_bytes() == b"right"
    assert not list(store.directory.glob(".*staging"))


async def test_concatenation_fills_the_final_upload_in_partial_order(store: FileStore) -> None:
    partials = []
    for upload_id, data in (("p1", b"abc"), ("p2", b""), ("p3", b"defg")):
        info = await new_upload(store, upload_id, len(data), is_partial=True)
        appender = store.open_appender(info)
        await appender.write(data)
        await appender.close()
        partials.append(await store.get_info(upload_id))
    final = await new_upload(store, "f", 7, is_final=True, partial_uploads=["p1", "p2", "p3", "p1"])
    await store.concatenate(final, [*partials, partials[0]])
    assert (store.directory / "f").read_bytes() == b"abcdefgabc"
    assert not list(store.directory.glob(".*assembling"))


async def test_termination_removes_data_and_info(store: FileStore) -> None:
    await new_upload(store, "u1", 3)
    await store.terminate("u1")
    assert list(store.directory.iterdir()) == []
    with pytest.raises(TusError) as error:
        await store.get_info("u1")
    assert error.value.status == 404


@pytest.mark.parametrize("upload_id", ["../etc/passwd", "a/b", ".hidden", "x.info", "", "events"])
async def test_ids_that_could_escape_the_directory_are_unknown(store: FileStore, upload_id: str) -> None:
    with pytest.raises(TusError) as error:
        await store.get_info(upload_id)
    assert error.value.status == 404


async def test_info_files_are_replaced_atomically(store: FileStore) -> None:
    info = await new_upload(store, "u1", 3, metadata={"a": "b"})
    info.metadata["a"] = "c"
    await store.save_info(info)
    assert (await store.get_info("u1")).metadata == {"a": "c"}
    assert sorted(p.name for p in store.directory.iterdir()) == ["u1", "u1.info"]


async def test_a_block_of_more_chunks_than_one_writev_takes_is_written_in_order(store: FileStore) -> None:
    info = await new_upload(store, "u1", None)
    chunks = [os.urandom(13) for _ in range(12_000)]  # a 64 KiB block gathers ~5,000 of them: several writev calls
    appender = store.open_appender(info)
    for chunk in chunks:
        await appender.write(chunk)
    assert await appender.close() == 13 * len(chunks)
    assert (store.directory / "u1").read_bytes() == b"".join(chunks)


async def test_reads_come_in_order_with_a_chunk_read_ahead(store: FileStore) -> None:
    data = os.urandom(3 * READ_CHUNK + 5)
    info = await new_upload(store, "u1", len(data))
    (store.directory / "u1").write_bytes(data)
    chunks = [chunk async for chunk in store.read(info, 7, len(data) - 3)]
    assert b"".join(chunks) == data[7:-3]
    assert max(len(chunk) for chunk in chunks) == READ_CHUNK


async def test_a_reader_that_stops_early_leaves_no_file_open(store: FileStore) -> None:
    info = await new_upload(store, "u1", 3 * READ_CHUNK)
    (store.directory / "u1").write_bytes(os.urandom(3 * READ_CHUNK))
    data_file = str(store.directory / "u1")

    def open_on_data() -> int:
        return sum(1 for fd in os.listdir("/proc/self/fd") if _target(fd) == data_file)

    reader = store.read(info, 0, 3 * READ_CHUNK)
    assert len(await anext(reader)) == READ_CHUNK  # the second chunk is being read ahead now
    await reader.aclose()

    async def closed() -> bool:
        return open_on_data() == 0

    await eventually(closed)


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
