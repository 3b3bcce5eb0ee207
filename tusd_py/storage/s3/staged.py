"""A checksummed body on S3: S3 cannot take a part back, so the body is spooled to a local temporary file, verified,
and only then appended as parts. The temporary file holds one body at most and is removed in every case."""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import TYPE_CHECKING, Any

from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.s3.appender import S3Appender, S3Writer
from tusd_py.storage.s3.layout import Listing

if TYPE_CHECKING:
    from tusd_py.storage.s3.store import S3Store

SPOOL_CHUNK = 4 * 2**20


class StagedS3Appender(S3Writer):
    def __init__(self, store: S3Store, info: UploadInfo, listing: Listing | None, **options: Any) -> None:
        super().__init__(store, info, listing, **options)
        fd, self._path = tempfile.mkstemp(prefix="tusd-py-s3-", suffix=".staging", dir=store.staging_dir)
        self._file = os.fdopen(fd, "w+b", buffering=0)
        self._spooled = 0

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self._check_ours()
        data = bytes(data)
        if self._hasher is not None:
            self._hasher.update(data)
        await asyncio.to_thread(self._file.write, data)
        self._spooled += len(data)

    async def flush(self) -> None:
        """Nothing joins the upload before close(keep=True): the digest already covers every spooled byte."""

    async def close(self, keep: bool = True) -> int:
        if self._closed:
            return self.written
        self._closed = True
        try:
            keep = keep and not self.fenced and (self._still_ours is None or self._still_ours())
            if keep and self._spooled:
                await self._upload()
        finally:
            self._file.close()
            os.unlink(self._path)
        return self.written

    async def _upload(self) -> None:
        appender = S3Appender(
            self._store, self._info, self._listing, on_written=self._on_written, still_ours=self._still_ours
        )
        try:
            position = 0
            while position < self._spooled:
                chunk = await asyncio.to_thread(os.pread, self._file.fileno(), SPOOL_CHUNK, position)
                if not chunk:
                    break
                position += len(chunk)
                await appender.write(chunk)
            await appender.flush()
        finally:
            await appender.close()
            self.written = appender.written
            self.fenced = appender.fenced
