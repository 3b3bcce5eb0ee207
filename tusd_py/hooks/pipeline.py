"""The processing pipeline: named async stages that run after an upload completes, reported as events."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.info import UploadInfo

if TYPE_CHECKING:
    from tusd_py.uploads.service import UploadService

log = logging.getLogger("tusd_py.pipeline")

StageFunction = Callable[["StageContext"], Awaitable[dict[str, Any] | None]]
PENDING, PROCESSING, PROCESSED, FAILED = "pending", "processing", "processed", "failed"


@dataclass(frozen=True)
class Stage:
    """One step: `run(context)` does the work and returns what it found (JSON-able), or None."""

    name: str
    run: StageFunction


@dataclass
class StageContext:
    """What a stage gets: the finished upload, where its bytes are, what earlier stages returned."""

    upload: UploadInfo
    path: Path
    results: dict[str, Any]
    stage: str
    _report: Callable[[float, str], None] = field(repr=False)

    def report(self, fraction: float, message: str = "") -> None:
        """Tell watchers how far this stage is (0 to 1). Cheap: throttled before it becomes an event. May be
        called from a worker thread (e.g. inside `asyncio.to_thread`)."""
        self._report(min(1.0, max(0.0, fraction)), message)


def load_stages(spec: str) -> list[Stage]:
    """Stages from settings: `name=package.module:function,…` (the name defaults to the function's)."""
    stages = []
    items = [part.strip() for part in spec.split(",") if part.strip()]
    if items:
        _import_from_here()
    for item in items:
        name, _, target = item.rpartition("=")
        module_name, _, attribute = target.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"pipeline stage {item!r}: expected [name=]module:function")
        function = getattr(importlib.import_module(module_name), attribute)
        if not inspect.iscoroutinefunction(function):
            raise ValueError(f"pipeline stage {item!r}: {target} is not an async function")
        stages.append(Stage(name or attribute, function))
    return stages


def _import_from_here() -> None:
    """Let stage modules be found in the current directory, as under `python -m` and uvicorn: the `tusd-py`
    command's own path holds only its installation."""
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)


class Pipeline:
    """Runs the stages for each completed upload, at most `concurrency` uploads at a time.

    Work to do is recorded in the upload's own info (status `pending`), so it survives a restart: every
    instance looks for such uploads when it starts and every `rescan_interval` after. A `processing:<id>` lock
    makes sure only one instance runs an upload's stages."""

    def __init__(
        self,
        stages: Sequence[Stage],
        *,
        concurrency: int = 2,
        report_interval: float = 0.5,
        rescan_interval: float = 60.0,
    ) -> None:
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        self.stages = list(stages)
        self.concurrency = max(1, concurrency)
        self.report_interval = report_interval
        self.rescan_interval = rescan_interval
        self.service: UploadService | None = None
        self.path_of: Callable[[str], Path] = Path
        self.local_copy: Callable[[UploadInfo], AbstractAsyncContextManager[Path]] | None = None
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def attach(
        self,
        service: UploadService,
        path_of: Callable[[str], Path],
        local_copy: Callable[[UploadInfo], AbstractAsyncContextManager[Path]] | None = None,
    ) -> None:
        """Run for this service's completed uploads; `path_of(id)` is where an upload's bytes are. A store whose
        bytes are not local files (S3) gives `local_copy(info)` instead: a temporary copy for the stages' run."""
        self.service = service
        self.path_of = path_of
        self.local_copy = local_copy
        service.pipeline = self

    def enqueue(self, upload_id: str) -> None:
        if upload_id not in self._queued:
            self._queued.add(upload_id)
            self._queue.put_nowait(upload_id)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()) for _ in range(self.concurrency)]
        self._tasks.append(loop.create_task(self._rescan_forever()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def rescan(self) -> int:
        """Queue every completed upload whose processing is pending or was cut off; returns how many."""
        assert self.service is not None
        found = 0
        async for info in self.service.store.iter_infos():
            if info.is_complete and (info.processing or {}).get("status") in (PENDING, PROCESSING):
                self.enqueue(info.id)
                found += 1
        return found

    async def _rescan_forever(self) -> None:
        while True:
            try:
                await self.rescan()
            except Exception:
                log.exception("looking for pending processing failed")
            await asyncio.sleep(self.rescan_interval)

    async def _work(self) -> None:
        while True:
            upload_id = await self._queue.get()
            try:
                await self.process(upload_id)
            except Exception:
                log.exception("processing %s failed unexpectedly", upload_id)
            finally:
                self._queued.discard(upload_id)

    async def process(self, upload_id: str) -> None:
        """Run every stage for one upload, unless another instance is running them or they already ran."""
        service = self.service
        assert service is not None
        try:
            lock = await service.locker.acquire(f"processing:{upload_id}", timeout=0, interrupt=False)
        except TusError:
            return  # another instance has it; its lock expires if that instance dies, and a rescan retries
        try:
            info = await service.record_processing(upload_id, None)
            if info is None or (info.processing or {}).get("status") not in (PENDING, PROCESSING):
                return
            await self._run_stages(service, info)
        finally:
            await lock.release()

    async def _run_stages(self, service: UploadService, info: UploadInfo) -> None:
        if self.local_copy is None:
            await self._run_stages_on(service, info, self.path_of(info.id))
            return
        async with self.local_copy(info) as path:
            await self._run_stages_on(service, info, path)

    async def _run_stages_on(self, service: UploadService, info: UploadInfo, path: Path) -> None:
        results: dict[str, Any] = {}
        for stage in self.stages:
            state = {"status": PROCESSING, "stage": stage.name, "stage_progress": 0.0, "message": f"{stage.name}"}
            current = await service.record_processing(info.id, state)
            if current is None:
                return  # the upload was removed meanwhile
            reporter = _Reporter(service, current, state, self.report_interval)
            context = StageContext(current, path, dict(results), stage.name, reporter)
            try:
                result = await stage.run(context)
                json.dumps(result)  # kept in the upload's info and sent in events: JSON or a failure, never stuck
                results[stage.name] = result
            except Exception as error:
                log.warning("stage %s failed for %s: %s", stage.name, info.id, error)
                await service.record_processing(
                    info.id,
                    {
                        "status": FAILED,
                        "stage": stage.name,
                        "error_code": "stage_failed",
                        "error_message": f"{type(error).__name__}: {error}"[:1000],
                    },
                )
                return
        await service.record_processing(info.id, {"status": PROCESSED, "result": results})


class _Reporter:
    """A stage's progress reports, turned into `processing` events at most once per interval: reports in between
    are dropped, and a report of 1.0 (the stage is done) always goes out."""

    def __init__(self, service: UploadService, info: UploadInfo, state: dict[str, Any], interval: float) -> None:
        self.service = service
        self.info = info
        self.state = state
        self.interval = interval
        self.last = 0.0
        self.loop = asyncio.get_running_loop()

    def __call__(self, fraction: float, message: str) -> None:
        if not self._on_loop():
            # Stages do their heavy work in threads and report from there; events are the loop's business.
            self.loop.call_soon_threadsafe(self, fraction, message)
            return
        now = time.monotonic()
        if now - self.last < self.interval and fraction < 1.0:
            return
        self.last = now
        self.info.processing = {**self.state, "stage_progress": round(fraction, 4), "message": message or ""}
        self.service.tell_processing(self.info)

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False
