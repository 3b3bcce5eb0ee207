"""Batches: uploads that share `batch` metadata, summed up (files, finished, failed, bytes) as they go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tusd_py.protocol.info import UploadInfo

BATCH_KEY = "batch"
BATCH_TOTAL_KEY = "batch_total"  # optional: how many files the client will send, so completion waits for all


def batch_topic(owner: str | None, batch: str) -> str:
    """Batches are named by their clients, so each owner has its own namespace of them."""
    return f"batch:{batch}" if owner is None else f"batch:{owner}/{batch}"


def batch_of(info: UploadInfo) -> str | None:
    value = info.metadata.get(BATCH_KEY, "").strip()
    return value[:200] or None


def declared_total(info: UploadInfo) -> int | None:
    value = info.metadata.get(BATCH_TOTAL_KEY, "")
    return int(value) if value.isdigit() else None


@dataclass
class BatchFile:
    offset: int
    length: int | None
    state: str  # "uploading", "finished" or "failed"


@dataclass
class BatchState:
    name: str
    files: dict[str, BatchFile] = field(default_factory=dict)
    declared_total: int | None = None
    completion_announced: bool = False

    def put(self, upload_id: str, file: BatchFile, total: int | None) -> None:
        if upload_id not in self.files:
            self.completion_announced = False  # a new file reopens a batch announced complete
        self.files[upload_id] = file
        if total is not None:
            self.declared_total = max(total, self.declared_total or 0)

    @property
    def finished(self) -> int:
        return sum(1 for f in self.files.values() if f.state == "finished")

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files.values() if f.state == "failed")

    @property
    def total(self) -> int:
        return max(len(self.files), self.declared_total or 0)

    @property
    def bytes_received(self) -> int:
        return sum(f.offset for f in self.files.values())

    @property
    def bytes_total(self) -> int | None:
        lengths = [f.length for f in self.files.values()]
        if None in lengths or (self.declared_total or 0) > len(self.files):
            return None
        return sum(length or 0 for length in lengths)

    @property
    def percentage(self) -> float | None:
        total = self.bytes_total
        if total is None:
            return None
        return 100.0 if total == 0 else round(100.0 * self.bytes_received / total, 2)

    @property
    def complete(self) -> bool:
        return bool(self.files) and self.finished + self.failed >= self.total

    def summary(self) -> dict[str, Any]:
        return {
            "batch": self.name,
            "files": self.total,
            "known_files": len(self.files),
            "finished": self.finished,
            "failed": self.failed,
            "in_progress": len(self.files) - self.finished - self.failed,
            "bytes_received": self.bytes_received,
            "bytes_total": self.bytes_total,
            "percentage": self.percentage,
            "complete": self.complete,
        }


def file_of(info: UploadInfo, state: str) -> BatchFile:
    return BatchFile(info.offset, info.size, state)


def rebuild(name: str, infos: list[UploadInfo]) -> BatchState:
    """A batch as the upload store shows it (after a restart, or the first time it is asked for)."""
    state = BatchState(name)
    for info in infos:
        state.put(info.id, file_of(info, "finished" if info.is_complete else "uploading"), declared_total(info))
    return state
