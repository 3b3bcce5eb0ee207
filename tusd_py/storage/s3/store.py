"""The S3 store: uploads in an S3 bucket, in tusd v2's s3store layout (layout.py), both ways."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tusd_py.protocol.checksum import Hasher
from tusd_py.protocol.errors import TusError, upload_not_found
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.representation import content_type
from tusd_py.storage.base import Appender, Capability
from tusd_py.storage.s3.appender import S3Appender
from tusd_py.storage.s3.client import Connection, S3Config, calling
from tusd_py.storage.s3.layout import (
    MIN_PART_SIZE,
    NEXT_PART_META,
    Keys,
    Listing,
    Part,
    copy_ranges,
    join_id,
    listing_from,
    part_size_for,
    split_id,
    storage_of,
)
from tusd_py.storage.s3.tombstones import S3Tombstones
from tusd_py.storage.tusd_format import info_from_json, info_to_json, settle_completion, unreadable_info

READ_CHUNK = 1024 * 1024
_LISTINGS_KEPT = 1024


def _timestamp(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else 0.0


class PartBody(io.RawIOBase):
    """A part's bytes as a seekable stream: aiohttp sends it in 64 KiB pieces, where given the bytes (or a BytesIO)
    it would keep a second copy of each part in flight (the transport's buffer, or BytesIO's getbuffer copy)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), len(self._view) - self._position)
        buffer[:count] = self._view[self._position : self._position + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position


class S3Store:
    """Uploads in an S3 bucket. Construct it anywhere; it connects on first use, in the loop that uses it."""

    # Checksummed bodies are staged locally before they become parts; an unfinished multipart upload's parts cannot
    # be read back (S3 serves an object only once it is completed).
    capabilities = frozenset(Capability) - {Capability.UNFINISHED_READS}

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        prefix: str = "",
        part_size: int = 8 * 2**20,
        concurrency: int = 4,
        presign_downloads: float | None = None,
        staging_dir: str | None = None,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= 5 * 2**30:
            raise ValueError("part_size must be between 5MiB and 5GiB")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.config = S3Config(bucket, endpoint, region, prefix, part_size, concurrency, presign_downloads)
        self.bucket = bucket
        self.keys = Keys(prefix)
        self.connection = Connection(self.config)
        self.staging_dir = staging_dir
        self._listings: OrderedDict[str, Listing] = OrderedDict()  # from get_info, for the appender that follows

    # -- the client ------------------------------------------------------------------------------

    async def _call(self, doing: str, operation: str, upload_id: str | None = None, *, missing_ok: bool = False,
                    **params: Any) -> Any:
        client = await calling("connecting to S3", self.connection.client)
        method = getattr(client, operation)
        return await calling(doing, lambda: method(Bucket=self.bucket, **params), upload_id, missing_ok=missing_ok)

    async def aclose(self) -> None:
        await self.connection.close()

    def tombstones(self, ttl: float) -> S3Tombstones:
        return S3Tombstones(self, ttl)

    def unconfirmed_bytes(self) -> int:
        """A part is confirmed once stored whole: two parts ahead keep one arriving while another uploads."""
        return 2 * self.config.part_size

    # -- the core --------------------------------------------------------------------------------

    async def create(self, info: UploadInfo) -> None:
        object_id = info.id
        key = self.keys.data(object_id)
        # The metadata stays in the .info only: S3 caps object metadata at 2 KiB, Upload-Metadata may be larger.
        # Only a well-formed media type: a declared filetype may hold anything, a line break too, and a header
        # S3 cannot take would fail the creation.
        params: dict[str, Any] = {"Key": key, "ContentType": content_type(info.metadata)}
        created = await self._call("creating the multipart upload", "create_multipart_upload", object_id, **params)
        info.id = join_id(object_id, created["UploadId"])
        info.storage = storage_of(self.bucket, key)
        try:
            await self._put_info(info)
        except BaseException:
            with contextlib.suppress(Exception):  # S3 may be gone altogether: then the lifecycle rule does it
                await self._call("aborting the multipart upload", "abort_multipart_upload", info.id,
                                 missing_ok=True, Key=key, UploadId=created["UploadId"])
            raise

    async def id_taken(self, upload_id: str) -> bool:
        """A hook's id names the objects (the tus id adds the multipart id): taken when either object exists."""
        found = await asyncio.gather(*(
            self._call("looking for an upload of that id", "head_object", upload_id, missing_ok=True, Key=key)
            for key in (self.keys.info(upload_id), self.keys.data(upload_id))
        ))
        return any(answer is not None for answer in found)

    async def _put_info(self, info: UploadInfo) -> None:
        object_id, _ = split_id(info.id)
        body = json.dumps(info_to_json(info), separators=(",", ":")).encode()
        await self._call("writing the upload's .info", "put_object", info.id, Key=self.keys.info(object_id),
                         Body=body, ContentType="application/json")

    async def get_info(self, upload_id: str) -> UploadInfo:
        object_id, multipart_id = split_id(upload_id)
        got, listed, tail = await asyncio.gather(
            self._call("reading the upload's .info", "get_object", upload_id, missing_ok=True,
                       Key=self.keys.info(object_id)),
            self._list_parts(object_id, multipart_id, upload_id),
            self._call("looking for the upload's .part", "head_object", upload_id, missing_ok=True,
                       Key=self.keys.tail(object_id)),
        )
        if got is None:
            raise upload_not_found(upload_id)
        async with got["Body"] as stream:
            raw = await stream.read()
        info_modified = _timestamp(got.get("LastModified"))
        try:
            data = json.loads(raw)
            info = info_from_json(data, fallback_created_at=info_modified)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise unreadable_info(upload_id, ".info object") from None
        info.id = upload_id
        info.storage = storage_of(self.bucket, self.keys.data(object_id))
        if listed is None:  # the multipart upload is gone: completed (or aborted with the upload)
            head = await self._call("reading the upload's data object", "head_object", upload_id, missing_ok=True,
                                    Key=self.keys.data(object_id))
            if head is None:
                raise upload_not_found(upload_id)
            info.offset = int(head["ContentLength"])
            info.updated_at = _timestamp(head.get("LastModified"))
        else:
            tag = (tail or {}).get("Metadata", {}).get(NEXT_PART_META)
            listing = listing_from(
                listed,
                int(tail["ContentLength"]) if tail is not None else None,
                int(tag) if tag is not None and tag.isdigit() else None,
            )
            info.offset = listing.offset
            modified = [info_modified, *(part.modified for part in listing.parts)]
            if listing.tail_size and tail is not None:
                modified.append(_timestamp(tail.get("LastModified")))
            info.updated_at = max(modified)
            self._remember(upload_id, listing)
        settle_completion(info, data, completed_at=info.updated_at)
        return info

    def _remember(self, upload_id: str, listing: Listing) -> None:
        self._listings[upload_id] = listing
        self._listings.move_to_end(upload_id)
        while len(self._listings) > _LISTINGS_KEPT:
            self._listings.popitem(last=False)

    async def _list_parts(self, object_id: str, multipart_id: str, upload_id: str) -> list[Part] | None:
        """Every part of the multipart upload; None when it no longer exists (completed or aborted)."""
        parts: list[Part] = []
        marker = 0
        while True:
            page = await self._call("listing the upload's parts", "list_parts", upload_id, missing_ok=True,
                                    Key=self.keys.data(object_id), UploadId=multipart_id, PartNumberMarker=marker)
            if page is None:
                return None
            for item in page.get("Parts", []):
                parts.append(Part(int(item["PartNumber"]), int(item["Size"]), str(item["ETag"]),
                                  _timestamp(item.get("LastModified"))))
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    async def list_upload(self, info: UploadInfo) -> Listing:
        """The parts and `.part` tail of an unfinished upload, read now."""
        object_id, multipart_id = split_id(info.id)
        listed, tail = await asyncio.gather(
            self._list_parts(object_id, multipart_id, info.id),
            self._call("looking for the upload's .part", "head_object", info.id, missing_ok=True,
                       Key=self.keys.tail(object_id)),
        )
        if listed is None:
            raise TusError(409, "upload_finished", "the upload's data is complete; it takes no more bytes",
                           {"upload_id": info.id})
        tag = (tail or {}).get("Metadata", {}).get(NEXT_PART_META)
        return listing_from(listed, int(tail["ContentLength"]) if tail is not None else None,
                            int(tag) if tag is not None and tag.isdigit() else None)

    async def save_info(self, info: UploadInfo) -> None:
        if info.is_complete and info.completed_at is not None:
            await self.finish(info)  # a completion recorded means the data object exists
        await self._put_info(info)

    def open_appender(
        self,
        info: UploadInfo,
        *,
        staged: bool = False,
        hasher: Hasher | None = None,
        on_written: Callable[[int], None] | None = None,
        still_ours: Callable[[], bool] | None = None,
    ) -> Appender:
        listing = self._listings.pop(info.id, None)
        if listing is not None and listing.offset != info.offset:
            listing = None
        if staged:
            from tusd_py.storage.s3.staged import StagedS3Appender

            return StagedS3Appender(self, info, listing, hasher=hasher, on_written=on_written, still_ours=still_ours)
        return S3Appender(self, info, listing, hasher=hasher, on_written=on_written, still_ours=still_ours)

    async def iter_infos(self) -> AsyncIterator[UploadInfo]:
        client = await calling("connecting to S3", self.connection.client)
        paginator = client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.keys.prefix)
        keys: list[str] = []
        async def collect() -> None:
            async for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        await calling("listing the bucket", collect)
        for key in keys:
            object_id = self.keys.object_id_of_info(key)
            if object_id is None:
                continue
            try:
                upload_id = await self._upload_id_of(object_id)
                if upload_id is not None:
                    yield await self.get_info(upload_id)
            except TusError:
                continue

    async def _upload_id_of(self, object_id: str) -> str | None:
        got = await self._call("reading an upload's .info", "get_object", missing_ok=True,
                               Key=self.keys.info(object_id))
        if got is None:
            return None
        async with got["Body"] as stream:
            raw = await stream.read()
        try:
            upload_id = json.loads(raw)["ID"]
        except (ValueError, KeyError, TypeError):
            return None
        return upload_id if isinstance(upload_id, str) else None

    async def check_ready(self) -> None:
        try:
            await self._call(f"checking bucket {self.bucket!r}", "head_bucket")
        except TusError as error:
            code = str(error.details.get("s3_error"))
            if code in ("404", "NoSuchBucket"):
                message = f"S3 bucket {self.bucket!r} does not exist"
            elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                message = f"S3 bucket {self.bucket!r} refuses these credentials ({code})"
            else:
                message = error.message
            details = {"bucket": self.bucket}
            raise TusError(503, "storage_unavailable", message, details, {"Retry-After": "5"}) from error

    # -- what the appenders use ------------------------------------------------------------------

    async def upload_part(self, info: UploadInfo, number: int, body: bytes) -> Part:
        object_id, multipart_id = split_id(info.id)
        answer = await self._call(f"uploading part {number}", "upload_part", info.id, Key=self.keys.data(object_id),
                                  UploadId=multipart_id, PartNumber=number, Body=PartBody(body),
                                  ContentLength=len(body))
        return Part(number, len(body), str(answer["ETag"]), time.time())

    async def empty_parts(self, info: UploadInfo, numbers: list[int]) -> None:
        """Overwrite parts a crash left beyond a gap with empty ones: they count 0 and complete nothing."""
        for number in numbers:
            await self.upload_part(info, number, b"")

    async def read_tail(self, info: UploadInfo) -> bytes:
        object_id, _ = split_id(info.id)
        got = await self._call("reading the upload's .part", "get_object", info.id, Key=self.keys.tail(object_id))
        async with got["Body"] as stream:
            return bytes(await stream.read())

    async def put_tail(self, info: UploadInfo, data: bytes, next_part: int) -> None:
        object_id, _ = split_id(info.id)
        await self._call("writing the upload's .part", "put_object", info.id, Key=self.keys.tail(object_id),
                         Body=data, Metadata={NEXT_PART_META: str(next_part)})

    async def delete_tail(self, info: UploadInfo) -> None:
        object_id, _ = split_id(info.id)
        await self._call("removing the upload's .part", "delete_object", info.id, missing_ok=True,
                         Key=self.keys.tail(object_id))

    async def complete(self, info: UploadInfo, parts: list[Part]) -> None:
        """Complete the multipart upload from these parts (empty ones left out; one empty part for 0 bytes)."""
        object_id, multipart_id = split_id(info.id)
        chosen = [part for part in parts if part.size]
        if not chosen:
            chosen = [await self.upload_part(info, 1, b"")]  # S3 completes nothing without a part, as tusd does
        await self._call("completing the multipart upload", "complete_multipart_upload", info.id,
                         Key=self.keys.data(object_id), UploadId=multipart_id,
                         MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in chosen]})
        await self.delete_tail(info)

    async def finish(self, info: UploadInfo) -> None:
        """Complete the multipart upload if it is still open (the `.part` tail becomes the last part)."""
        object_id, multipart_id = split_id(info.id)
        listed = await self._list_parts(object_id, multipart_id, info.id)
        if listed is None:
            return
        listing = await self.list_upload(info)
        parts = list(listing.parts)
        if listing.tail_size:
            parts.append(await self.upload_part(info, listing.next_number, await self.read_tail(info)))
        await self.complete(info, parts)

    # -- the capabilities ------------------------------------------------------------------------

    async def terminate(self, upload_id: str) -> None:
        object_id, multipart_id = split_id(upload_id)
        await self._call("aborting the multipart upload", "abort_multipart_upload", upload_id, missing_ok=True,
                         Key=self.keys.data(object_id), UploadId=multipart_id)
        await self._call("removing the upload's objects", "delete_objects", upload_id, Delete={
            "Objects": [{"Key": key} for key in (self.keys.data(object_id), self.keys.tail(object_id),
                                                 self.keys.info(object_id))],
            "Quiet": True,
        })
        self._listings.pop(upload_id, None)

    async def declare_length(self, info: UploadInfo, length: int) -> None:
        info.size = length
        if info.offset >= length:
            await self.finish(info)
        await self._put_info(info)

    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        """Server-side copies (UploadPartCopy) when every partial but the last is at least S3's smallest part;
        otherwise the bytes are copied through this process, in parts. Completed at once: all or nothing."""
        object_id, multipart_id = split_id(final.id)
        key = self.keys.data(object_id)
        parts: list[Part] = []
        if all(partial.offset >= MIN_PART_SIZE for partial in partials[:-1]) and all(p.offset for p in partials):
            for partial in partials:
                source = {"Bucket": self.bucket, "Key": self.keys.data(split_id(partial.id)[0])}
                for start, stop in copy_ranges(partial.offset):
                    number = len(parts) + 1
                    answer = await self._call(f"copying partial {partial.id}", "upload_part_copy", final.id,
                                              Key=key, UploadId=multipart_id, PartNumber=number, CopySource=source,
                                              CopySourceRange=f"bytes={start}-{stop - 1}")
                    parts.append(Part(number, stop - start, str(answer["CopyPartResult"]["ETag"])))
        else:
            part_size = part_size_for(final.size, self.config.part_size)
            buffer = bytearray()
            for partial in partials:
                async for chunk in self.read(partial, 0, partial.offset):
                    buffer += chunk
                    while len(buffer) >= part_size:
                        parts.append(await self.upload_part(final, len(parts) + 1, bytes(buffer[:part_size])))
                        del buffer[:part_size]
            if buffer:
                parts.append(await self.upload_part(final, len(parts) + 1, bytes(buffer)))
        await self.complete(final, parts)
        final.offset = sum(partial.offset for partial in partials)

    async def read(self, info: UploadInfo, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `stop` with one ranged GetObject, streamed in chunks."""
        if start >= stop:
            return
        object_id, _ = split_id(info.id)
        params = {"Key": self.keys.data(object_id), "Range": f"bytes={start}-{stop - 1}"}
        got = await self._call("reading the upload's data", "get_object", info.id, missing_ok=True, **params)
        if got is None and info.is_complete:
            await self.finish(info)  # all bytes stored, the completion interrupted: complete it now
            got = await self._call("reading the upload's data", "get_object", info.id, missing_ok=True, **params)
        if got is None:
            raise upload_not_found(info.id)
        async with got["Body"] as stream:
            while True:
                chunk = await calling("reading the upload's data", lambda: stream.read(READ_CHUNK), info.id)
                if not chunk:
                    break
                yield bytes(chunk)

    def presigns_downloads(self) -> bool:
        return self.config.presign_downloads is not None

    async def presigned_url(self, info: UploadInfo, disposition: str, media_type: str) -> str:
        object_id, _ = split_id(info.id)
        client = await calling("connecting to S3", self.connection.client)
        params = {"Bucket": self.bucket, "Key": self.keys.data(object_id),
                  "ResponseContentDisposition": disposition, "ResponseContentType": media_type}
        expires = int(self.config.presign_downloads or 3600)
        return str(await client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))

    @asynccontextmanager
    async def local_copy(self, info: UploadInfo) -> AsyncIterator[Path]:
        """A temporary local file with the finished upload's bytes (for pipeline stages); removed afterwards."""
        fd, name = tempfile.mkstemp(prefix="tusd-py-s3-", suffix=".copy", dir=self.staging_dir)
        try:
            with os.fdopen(fd, "wb", buffering=0) as file:
                async for chunk in self.read(info, 0, info.offset):
                    await asyncio.to_thread(file.write, chunk)
            yield Path(name)
        finally:
            os.unlink(name)
