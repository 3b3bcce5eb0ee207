"""What the server stored for one upload, read from its directory in tusd's file-store layout."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def upload_id_of(upload_url: str) -> str:
    """The upload's id: the last segment of its URL's path."""
    return urlsplit(upload_url).path.rstrip("/").rsplit("/", 1)[-1]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredUpload:
    """`<id>` holds the bytes received so far (its length is the offset, as in tusd); `<id>.info` the rest."""

    id: str
    info: dict[str, Any]
    data: bytes

    @classmethod
    def load(cls, upload_dir: Path, upload_url_or_id: str) -> StoredUpload:
        upload_id = upload_id_of(upload_url_or_id)
        info = json.loads((upload_dir / f"{upload_id}.info").read_text())
        return cls(upload_id, info, (upload_dir / upload_id).read_bytes())

    @property
    def offset(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return int(self.info["Size"])

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.info.get("MetaData") or {})
