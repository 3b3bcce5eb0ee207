"""The local record of unfinished uploads (file fingerprint → upload URLs): a re-run resumes rather than restarts."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


def default_store_path() -> Path:
    """$XDG_CACHE_HOME/tusd-py/uploads.json, or ~/.cache/tusd-py/uploads.json."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tusd-py" / "uploads.json"


@dataclass(frozen=True)
class StoredUpload:
    """One unfinished upload: a single upload URL, or (parallel) the URLs of its partial uploads in file order."""

    fingerprint: str
    endpoint: str
    path: str
    size: int
    urls: list[str]
    parallel: bool = False
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredUpload:
        return cls(
            fingerprint=str(data["fingerprint"]),
            endpoint=str(data["endpoint"]),
            path=str(data["path"]),
            size=int(data["size"]),
            urls=[str(url) for url in data["urls"]],
            parallel=bool(data.get("parallel", False)),
            created_at=str(data.get("created_at", "")),
        )


class URLStore:
    """A JSON file, rewritten atomically (temporary file + rename) under an advisory lock, so that several
    `tusd-py upload` processes can share it and a process killed mid-write never leaves it half written."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()

    def get(self, fingerprint: str) -> StoredUpload | None:
        with self._locked():
            data = self._read().get(fingerprint)
        return StoredUpload.from_dict(data) if data is not None else None

    def put(self, entry: StoredUpload) -> None:
        """Record `entry`, replacing any older record of the same file to the same endpoint (it changed since)."""
        with self._locked():
            uploads = {
                key: value
                for key, value in self._read().items()
                if not (value.get("path") == entry.path and value.get("endpoint") == entry.endpoint)
            }
            uploads[entry.fingerprint] = asdict(entry)
            self._write(uploads)

    def remove(self, fingerprint: str) -> None:
        with self._locked():
            uploads = self._read()
            if uploads.pop(fingerprint, None) is not None:
                self._write(uploads)

    def entries(self) -> list[StoredUpload]:
        with self._locked():
            return [StoredUpload.from_dict(value) for value in self._read().values()]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            return {}  # unreadable: forget it rather than refuse to upload; it only costs a restart from zero
        uploads = data.get("uploads") if isinstance(data, dict) else None
        return {k: v for k, v in uploads.items() if isinstance(v, dict)} if isinstance(uploads, dict) else {}

    def _write(self, uploads: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"version": FORMAT_VERSION, "uploads": uploads}, indent=1, sort_keys=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
