"""Tombstones: for a while after an upload is removed, requests for it learn why (410) instead of a bare 404."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Protocol

from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.storage.file import write_replacing


class Tombstones(Protocol):
    async def bury(self, upload_id: str, reason: str) -> None: ...

    async def reason(self, upload_id: str) -> str | None:
        """Why the upload is gone, while its tombstone lasts; None otherwise."""
        ...

    async def sweep(self) -> int:
        """Remove tombstones older than their time to live; returns how many."""
        ...


class FileTombstones:
    """A `.<id>.gone` dot-file beside the uploads: shared by every instance using the directory, ignored by tusd."""

    def __init__(self, directory: Path, ttl: float) -> None:
        self.directory = directory
        self.ttl = ttl

    def _path(self, upload_id: str) -> Path:
        return self.directory / f".{upload_id}.gone"

    async def bury(self, upload_id: str, reason: str) -> None:
        if self.ttl > 0 and is_valid_upload_id(upload_id):
            write_replacing(self._path(upload_id), json.dumps({"reason": reason, "at": time.time()}))

    async def reason(self, upload_id: str) -> str | None:
        if not is_valid_upload_id(upload_id):
            return None
        path = self._path(upload_id)
        try:
            stone = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if time.time() - float(stone.get("at", 0)) > self.ttl:
            path.unlink(missing_ok=True)
            return None
        return str(stone.get("reason", "removed"))

    async def sweep(self) -> int:
        removed = 0
        deadline = time.time() - self.ttl
        for path in self.directory.glob(".*.gone"):
            try:
                if os.stat(path).st_mtime < deadline:
                    path.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
