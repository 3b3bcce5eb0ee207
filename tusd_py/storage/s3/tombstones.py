"""Tombstones of removed S3 uploads, as small objects beside them (`<prefix>tusd-py-gone/<id>`): every instance
using the bucket sees them, tusd ignores them."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.storage.s3.client import calling

if TYPE_CHECKING:
    from tusd_py.storage.s3.store import S3Store

FOLDER = "tusd-py-gone/"


class S3Tombstones:
    def __init__(self, store: S3Store, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    def _key(self, upload_id: str) -> str:
        return self.store.keys.prefix + FOLDER + upload_id

    async def bury(self, upload_id: str, reason: str) -> None:
        if self.ttl > 0 and is_valid_upload_id(upload_id):
            body = json.dumps({"reason": reason, "at": time.time()}).encode()
            await self.store._call("recording the removal", "put_object", upload_id, Key=self._key(upload_id),
                                   Body=body)

    async def reason(self, upload_id: str) -> str | None:
        if self.ttl <= 0 or not is_valid_upload_id(upload_id):
            return None
        try:
            got = await self.store._call("reading the removal", "get_object", upload_id, missing_ok=True,
                                         Key=self._key(upload_id))
            if got is None:
                return None
            async with got["Body"] as stream:
                stone = json.loads(await stream.read())
        except (TusError, ValueError):
            return None
        if time.time() - float(stone.get("at", 0)) > self.ttl:
            return None
        return str(stone.get("reason", "removed"))

    async def sweep(self) -> int:
        client = await calling("connecting to S3", self.store.connection.client)
        deadline = time.time() - self.ttl
        old: list[str] = []

        async def collect() -> None:
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.store.bucket, Prefix=self.store.keys.prefix + FOLDER):
                for item in page.get("Contents", []):
                    if item["LastModified"].timestamp() < deadline:
                        old.append(item["Key"])

        await calling("listing removals", collect)
        for start in range(0, len(old), 1000):
            batch = [{"Key": key} for key in old[start : start + 1000]]
            await self.store._call("removing old removals", "delete_objects", Delete={"Objects": batch, "Quiet": True})
        return len(old)
