"""The shared-state interfaces; memory.py serves one process, redis.py many."""

from __future__ import annotations

from typing import Protocol

from tusd_py.events.batches import BatchFile, BatchState


class ConcatIndex(Protocol):
    """Final uploads created before their partials finished (concatenation-unfinished)."""

    async def watch(self, final_id: str, partial_ids: list[str]) -> None: ...

    async def finals_waiting_on(self, partial_id: str) -> set[str]: ...

    async def unwatch(self, final_id: str, partial_ids: list[str]) -> None: ...


class BatchBook(Protocol):
    """Each batch's files with their progress and state."""

    async def record(
        self, key: str, name: str, upload_id: str, file: BatchFile, declared_total: int | None
    ) -> BatchState:
        """Store one file's figures under the batch's key (see batch_topic); returns the whole batch."""
        ...

    async def state(self, key: str, name: str) -> BatchState | None: ...

    async def replace(self, key: str, state: BatchState) -> None:
        """Store a batch rebuilt from the upload store."""
        ...

    async def claim_completion(self, key: str, name: str) -> bool:
        """True for exactly one caller each time a batch becomes complete."""
        ...
