"""Which local file an upload came from: its path, size and modification time, and the server it went to."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileIdentity:
    """A file as it is now (`path` as given, `resolved` absolute); a later change of size or mtime makes it a
    different file to upload."""

    path: Path
    resolved: Path
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> FileIdentity:
        resolved = Path(path).resolve()
        stat = resolved.stat()
        return cls(Path(path), resolved, stat.st_size, stat.st_mtime_ns)


def fingerprint(identity: FileIdentity, endpoint: str) -> str:
    """A stable key for "this file, unchanged, to this endpoint"."""
    text = f"{endpoint}\n{identity.resolved}\n{identity.size}\n{identity.mtime_ns}"
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()
