"""UploadInfo: everything known about one upload, independent of where it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tusd_py.protocol.checksum import Checksum


@dataclass
class UploadInfo:
    id: str
    size: int | None  # None while the length is deferred
    offset: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    raw_metadata: str | None = None  # the Upload-Metadata header as the client sent it
    is_partial: bool = False
    is_final: bool = False
    partial_uploads: list[str] | None = None
    concat_pending: bool = False  # a final upload still waiting for its partials
    created_at: float = 0.0
    updated_at: float = 0.0  # when bytes last arrived
    completed_at: float | None = None
    owner: str | None = None
    storage: dict[str, str] = field(default_factory=dict)
    processing: dict[str, Any] | None = None  # the pipeline's state: status, stage, result or error
    source: dict[str, Any] | None = None  # where the bytes come from when not a tus client: an import, a form
    protocol: str = "tus"  # what created it: "tus" (1.0) or "ietf-draft-<interop version>"
    sha256: bytes | None = None  # of the whole upload, recorded at completion (Repr-Digest on download)
    # The whole upload's digest as the client stated it before the upload was complete (the draft's Repr-Digest
    # on a creation with Upload-Complete: ?0): checked when the body that completes the upload arrives.
    expected_digest: Checksum | None = None

    @property
    def is_deferred(self) -> bool:
        return self.size is None

    @property
    def is_complete(self) -> bool:
        return self.size is not None and self.offset >= self.size and not self.concat_pending

    @property
    def completion_pending(self) -> bool:
        """Every byte is stored but the completion was never recorded (its info write failed): to be done."""
        return self.is_complete and self.completed_at is None

    @property
    def remaining(self) -> int | None:
        return None if self.size is None else self.size - self.offset

    def expires_at(self, expire_after: float | None) -> float | None:
        """Incomplete uploads expire `expire_after` seconds after their last activity."""
        if expire_after is None or self.is_complete:
            return None
        return max(self.created_at, self.updated_at) + expire_after

    def removal_due_at(self, expire_after: float | None, retain_completed: float | None) -> float | None:
        """When the sweeper removes this upload: unfinished ones on expiry, finished ones after retention."""
        if not self.is_complete:
            return self.expires_at(expire_after)
        if retain_completed is None:
            return None
        return (self.completed_at or self.updated_at) + retain_completed
