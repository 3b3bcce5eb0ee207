"""The SHA-256 of each upload's bytes, computed as they arrive, for `Repr-Digest` on download (RFC 9530).

hashlib's state cannot be saved, so the running state lives in this process's memory, one small object per
upload being written, keyed by the offset it covers. An upload whose state was lost (a restart, another
process took its next request, a body spliced past user space) is read once from storage when it completes."""

from __future__ import annotations

import hashlib
from typing import Any

from tusd_py.protocol.checksum import Hasher

Sha256 = Any  # hashlib's private _Hash type


class RunningDigests:
    def __init__(self) -> None:
        self._states: dict[str, tuple[int, Sha256]] = {}

    def resume(self, upload_id: str, offset: int) -> Sha256 | None:
        """The state covering exactly the first `offset` bytes, or None when it was lost."""
        if offset == 0:
            return hashlib.sha256()
        state = self._states.get(upload_id)
        return state[1].copy() if state is not None and state[0] == offset else None

    def keep(self, upload_id: str, offset: int, state: Sha256) -> None:
        self._states[upload_id] = (offset, state)

    def forget(self, upload_id: str) -> None:
        self._states.pop(upload_id, None)

    def __len__(self) -> int:
        return len(self._states)


class Tee:
    """Feeds one body to the request's checksum (if any) and to the upload's running digest, counting bytes."""

    def __init__(self, checksum: Hasher | None, running: Sha256) -> None:
        self.checksum = checksum
        self.running = running
        self.count = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        if self.checksum is not None:
            self.checksum.update(data)
        self.running.update(data)
        self.count += len(data)

    def digest(self) -> bytes:
        """The checksum's digest: that is what the appender is asked to verify."""
        assert self.checksum is not None
        return self.checksum.digest()
