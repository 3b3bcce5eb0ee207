"""The file store: `<dir>/<id>` holds the bytes, `<dir>/<id>.info` tusd's JSON; the offset is the data file's size."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from tusd_py.protocol.checksum import Hasher
from tusd_py.protocol.errors import TusError, upload_not_found
from tusd_py.protocol.ids import is_plain_upload_id
from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.appender import DEFAULT_BLOCK_SIZE, FileAppender, StillOurs, append_file
from tusd_py.storage.base import Capability
from tusd_py.storage.tusd_format import info_from_json, info_to_json, settle_completion, unreadable_info

READ_CHUNK = 1024 * 1024


def _close_after_read(fd: int) -> Callable[[asyncio.Future[bytes]], None]:
    def close(read: asyncio.Future[bytes]) -> None:
        if not read.cancelled():
            read.exception()  # retrieved: an unneeded read's error is not worth a warning
        os.close(fd)

    return close


class _StagedAppender(FileAppender):
    """Writes to a staging file; only `close(keep=True)` moves the bytes into the upload."""

    def __init__(self, staging: Path, data: Path, **kwargs: object) -> None:
        super().__init__(staging, **kwargs)  # type: ignore[arg-type]
        self._data = data

    async def close(self, keep: bool = True) -> int:
        staged = await super().close()
        keep = keep and not self.fenced and (self._still_ours is None or self._still_ours())
        try:
            if keep and staged:
                await asyncio.to_thread(append_file, self.path, self._data)
        finally:
            self.path.unlink(missing_ok=True)
        return staged if keep else 0


def _create_files(data: str, info: bytes) -> None:
    """A new upload's empty data file and its info. The info is written in place, not through a temporary file
    and a rename as later changes are: nobody can read it before the POST is answered. A creation that fails
    (a full disk) removes what it made: no half-made upload is left behind."""
    os.close(os.open(data, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o664))
    try:
        fd = os.open(data + ".info", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o664)
        try:
            view = memoryview(info)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except BaseException:
        for path in (data + ".info", data):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        raise


def write_replacing(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`; a failed write (a full disk)
    removes the temporary file and leaves `path` as it was."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class FileStore:
    """Uploads on a local (or shared) file system, in tusd's own layout."""

    capabilities = frozenset(
        {
            Capability.TERMINATION,
            Capability.CONCATENATION,
            Capability.DEFERRED_LENGTH,
            Capability.STAGED_APPEND,
            Capability.RANGED_READS,
            Capability.UNFINISHED_READS,
        }
    )

    def __init__(self, directory: str | os.PathLike[str], *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._root = str(self.directory)
        self.block_size = block_size

    def data_path(self, upload_id: str) -> Path:
        return Path(self._data_file(upload_id))

    def _data_file(self, upload_id: str) -> str:
        """The data file's path as a string (what a creation needs, without building a Path)."""
        if not is_plain_upload_id(upload_id):
            raise upload_not_found(upload_id)
        return os.path.join(self._root, upload_id)

    def info_path(self, upload_id: str) -> Path:
        return self.data_path(upload_id).with_name(upload_id + ".info")

    def _staging_path(self, upload_id: str) -> Path:
        # A dot-file: tusd and directory listings of `*.info` never mistake it for an upload.
        return self.directory / f".{upload_id}.staging"

    async def create(self, info: UploadInfo) -> None:
        data = self._data_file(info.id)
        info.storage = {"Type": "filestore", "Path": data, "InfoPath": data + ".info"}
        encoded = json.dumps(info_to_json(info), separators=(",", ":")).encode()
        _create_files(data, encoded)  # on the loop: in a thread it cost 50 % more CPU per creation, for no speed

    async def id_taken(self, upload_id: str) -> bool:
        return self.data_path(upload_id).exists() or self.info_path(upload_id).exists()

    async def get_info(self, upload_id: str) -> UploadInfo:
        info_path = self.info_path(upload_id)
        try:
            raw = info_path.read_bytes()
            stat = os.stat(self.data_path(upload_id))
        except FileNotFoundError:
            raise upload_not_found(upload_id) from None
        except OSError as error:
            raise TusError(
                503,
                "storage_unavailable",
                f"the upload's files cannot be read ({error.strerror})",
                {"upload_id": upload_id},
                {"Retry-After": "5"},
            ) from None
        try:
            data = json.loads(raw)
            info = info_from_json(data, fallback_created_at=os.stat(info_path).st_mtime)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise unreadable_info(upload_id, "info file") from None
        info.id = upload_id
        info.offset = stat.st_size
        info.updated_at = stat.st_mtime
        settle_completion(info, data, completed_at=stat.st_mtime)
        return info

    async def save_info(self, info: UploadInfo) -> None:
        """Write the whole info atomically: readers see the old or the new file, never half of one."""
        write_replacing(self.info_path(info.id), json.dumps(info_to_json(info), separators=(",", ":")))

    def open_appender(
        self,
        info: UploadInfo,
        *,
        staged: bool = False,
        hasher: Hasher | None = None,
        on_written: Callable[[int], None] | None = None,
        still_ours: StillOurs | None = None,
    ) -> FileAppender:
        data = self.data_path(info.id)
        options = dict(hasher=hasher, block_size=self.block_size, on_written=on_written, still_ours=still_ours)
        if staged:
            staging = self._staging_path(info.id)
            staging.unlink(missing_ok=True)
            return _StagedAppender(staging, data, **options)
        return FileAppender(data, **options)  # type: ignore[arg-type]

    async def terminate(self, upload_id: str) -> None:
        for path in (self.data_path(upload_id), self.info_path(upload_id), self._staging_path(upload_id)):
            path.unlink(missing_ok=True)

    async def declare_length(self, info: UploadInfo, length: int) -> None:
        info.size = length
        await self.save_info(info)

    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        """Assemble into a temporary file, then rename: a crash leaves the final upload empty, never half-filled."""
        target = self.data_path(final.id)
        assembling = self.directory / f".{final.id}.assembling"

        def assemble() -> None:
            assembling.write_bytes(b"")
            for partial in partials:
                append_file(self.data_path(partial.id), assembling)
            os.replace(assembling, target)

        try:
            await asyncio.to_thread(assemble)
        finally:
            assembling.unlink(missing_ok=True)
        final.offset = os.stat(target).st_size

    def open_file(self, info: UploadInfo) -> BinaryIO:
        try:
            return open(self.data_path(info.id), "rb", buffering=0)  # the caller closes it
        except FileNotFoundError:
            raise upload_not_found(info.id) from None

    async def read(self, info: UploadInfo, start: int, stop: int) -> AsyncIterator[bytes]:
        """Read ahead by one chunk: the next read runs in a thread while the caller sends this chunk."""
        loop = asyncio.get_running_loop()
        fd = os.open(self.data_path(info.id), os.O_RDONLY)

        def read_at(position: int) -> asyncio.Future[bytes]:
            return loop.run_in_executor(None, os.pread, fd, min(READ_CHUNK, stop - position), position)

        ahead = read_at(start) if start < stop else None
        try:
            position = start
            while ahead is not None:
                # Shielded: a cancelled reader must not cancel a read that a thread is still doing on `fd`.
                chunk = await asyncio.shield(ahead)
                if not chunk:
                    raise TusError(
                        500, "storage_error", "the upload's data ended before its length", {"upload_id": info.id}
                    )
                position += len(chunk)
                ahead = read_at(position) if position < stop else None
                yield chunk
        finally:
            if ahead is None:
                os.close(fd)
            else:  # a read still ahead (the reader stopped early): close once the thread is done with `fd`
                ahead.add_done_callback(_close_after_read(fd))

    async def check_ready(self) -> None:
        if not self.directory.is_dir():
            raise TusError(503, "storage_unavailable", f"{self.directory} is not a directory")
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise TusError(503, "storage_unavailable", f"{self.directory} is not writable")

    async def iter_infos(self) -> AsyncIterator[UploadInfo]:
        for entry in sorted(self.directory.glob("*.info")):
            upload_id = entry.name[: -len(".info")]
            if not is_plain_upload_id(upload_id):
                continue
            try:
                yield await self.get_info(upload_id)
            except TusError:
                continue
