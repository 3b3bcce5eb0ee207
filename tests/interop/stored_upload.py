"""What the server stored for one upload, read in tusd's layouts: its file store's directory or its s3store's bucket."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def upload_id_of(upload_url: str) -> str:
    """The upload's id: the last segment of its URL's path."""
    return unquote(urlsplit(upload_url).path.rstrip("/").rsplit("/", 1)[-1])


@dataclass(frozen=True)
class S3Bucket:
    """Where an S3 store keeps its uploads: a bucket (and key prefix), read with a synchronous botocore client."""

    client: Any
    bucket: str
    prefix: str = ""

    def key(self, object_id: str) -> str:
        return f"{self.prefix.rstrip('/')}/{object_id}" if self.prefix else object_id

    def names(self) -> list[str]:
        """Every object key under the prefix, without it."""
        start = self.key("")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        return sorted(item["Key"][len(start) :] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(answer["Body"].read())

    def unfinished(self, object_id: str, multipart_id: str) -> tuple[int, bytes]:
        """What an unfinished upload holds: the bytes in its parts (S3 cannot read those back before completion),
        and its `.part` tail, not yet a part."""
        key = self.key(object_id)
        pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key, UploadId=multipart_id)
        parts = sum(int(part["Size"]) for page in pages for part in page.get("Parts", []))
        return parts, self.read(key + ".part") or b""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredUpload:
    """On files, `<id>` holds the bytes received so far (its length is the offset, as in tusd) and `<id>.info`
    the rest. On S3 (tus id `objectId+multipartId`), `<objectId>.info` holds the info and `<objectId>` the data
    once the upload is complete; before that `data` is the `.part` tail while no part exists, and once parts
    exist (S3 cannot read them back) `data` is empty and `received` counts the parts and the tail."""

    id: str
    info: dict[str, Any]
    data: bytes
    received: int | None = None

    @classmethod
    def load(cls, storage: Path | S3Bucket, upload_url_or_id: str) -> StoredUpload:
        upload_id = upload_id_of(upload_url_or_id)
        if isinstance(storage, S3Bucket):
            return cls.load_s3(storage, upload_id)
        info = json.loads((storage / f"{upload_id}.info").read_text())
        return cls(upload_id, info, (storage / upload_id).read_bytes())

    @classmethod
    def exists(cls, storage: Path | S3Bucket, upload_url_or_id: str) -> bool:
        """Whether anything of the upload is left: its data file, or on S3 its `.info` object."""
        upload_id = upload_id_of(upload_url_or_id)
        if isinstance(storage, S3Bucket):
            return storage.read(storage.key(upload_id.rpartition("+")[0]) + ".info") is not None
        return (storage / upload_id).exists()

    @classmethod
    def load_s3(cls, bucket: S3Bucket, upload_id: str) -> StoredUpload:
        object_id, _, multipart_id = upload_id.rpartition("+")
        info_bytes = bucket.read(bucket.key(object_id) + ".info")
        assert info_bytes is not None, f"no {object_id}.info in bucket {bucket.bucket}"
        info = json.loads(info_bytes)
        data = bucket.read(bucket.key(object_id))
        if data is not None:
            return cls(upload_id, info, data)
        in_parts, tail = bucket.unfinished(object_id, multipart_id)
        if in_parts == 0:
            return cls(upload_id, info, tail)  # all of it is in the tail: readable
        return cls(upload_id, info, b"", in_parts + len(tail))

    @property
    def offset(self) -> int:
        return len(self.data) if self.received is None else self.received

    @property
    def sha256(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return int(self.info["Size"])

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.info.get("MetaData") or {})
