"""Shared state for a single process: plain dictionaries."""

from __future__ import annotations

from tusd_py.events.batches import BatchFile, BatchState


class MemoryConcatIndex:
    def __init__(self) -> None:
        self._finals: dict[str, set[str]] = {}

    async def watch(self, final_id: str, partial_ids: list[str]) -> None:
        for partial_id in partial_ids:
            self._finals.setdefault(partial_id, set()).add(final_id)

    async def finals_waiting_on(self, partial_id: str) -> set[str]:
        return set(self._finals.get(partial_id, ()))

    async def unwatch(self, final_id: str, partial_ids: list[str]) -> None:
        for partial_id in partial_ids:
            waiting = self._finals.get(partial_id)
            if waiting is not None:
                waiting.discard(final_id)
                if not waiting:
                    del self._finals[partial_id]


class MemoryBatchBook:
    def __init__(self) -> None:
        self._batches: dict[str, BatchState] = {}

    async def record(
        self, key: str, name: str, upload_id: str, file: BatchFile, declared_total: int | None
    ) -> BatchState:
        state = self._batches.setdefault(key, BatchState(name))
        state.put(upload_id, file, declared_total)
        return state

    async def state(self, key: str, name: str) -> BatchState | None:
        return self._batches.get(key)

    async def replace(self, key: str, state: BatchState) -> None:
        self._batches[key] = state

    async def claim_completion(self, key: str, name: str) -> bool:
        state = self._batches.get(key)
        if state is None or not state.complete or state.completion_announced:
            return False
        state.completion_announced = True
        return True
