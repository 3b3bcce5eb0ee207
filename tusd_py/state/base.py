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

    async def record(self, batch: str, upload_id: str, file: BatchFile, declared_total: int | None) -> BatchState:
        """Store one file's figures; returns the whole batch as it now stands."""
        ...

    async def state(self, batch: str) -> BatchState | None: ...

    async def replace(self, state: BatchState) -> None:
        """Store a batch rebuilt from the upload store."""
        ...

    async def claim_completion(self, batch: str) -> bool:
        """True for exactly one caller each time a batch becomes complete."""
        ...
