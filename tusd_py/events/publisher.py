"""EventPublisher: turns what the upload service reports into typed events, in order, never blocking an upload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tusd_py.events.batches import BatchState, batch_of, batch_topic, declared_total, file_of, rebuild
from tusd_py.events.bus import EventBus
from tusd_py.events.models import (
    BatchCompletedEvent,
    BatchProgressEvent,
    CompletedEvent,
    CreatedEvent,
    Event,
    ExpiredEvent,
    FailedEvent,
    ProcessedEvent,
    ProcessingEvent,
    ProgressEvent,
    TerminatedEvent,
    utc_timestamp,
)
from tusd_py.events.progress import ProgressMeter
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.representation import filename
from tusd_py.state.base import BatchBook
from tusd_py.storage.base import UploadStore

log = logging.getLogger("tusd_py.events")
REPUBLISH_SECONDS = 300.0  # how long a terminal event that found Redis down is tried again
MAX_METERS = 10_000


def percentage(offset: int, length: int | None) -> float | None:
    if length is None:
        return None
    return 100.0 if length == 0 else round(100.0 * offset / length, 2)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


class EventPublisher:
    def __init__(
        self,
        bus: EventBus,
        store: UploadStore,
        *,
        batches: BatchBook,
        progress_interval: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus
        self.store = store
        self.progress_interval = progress_interval
        self.clock = clock
        self.batches = batches
        self._meters: OrderedDict[str, ProgressMeter] = OrderedDict()
        self._batch_meters: dict[str, ProgressMeter] = {}
        self._trailing: dict[str, tuple[asyncio.TimerHandle | None, UploadInfo]] = {}
        self._queue: asyncio.Queue[tuple[Event, UploadInfo | None]] = asyncio.Queue()
        self._republishing: set[asyncio.Task[None]] = set()  # terminal events waiting for Redis to come back
        self._worker: asyncio.Task[None] | None = None

    # -- the listener side: synchronous, cheap, called by the upload service --------------------------

    def __call__(self, kind: str, info: UploadInfo, received: int) -> None:
        now = self.clock()
        meter = self.meter(info.id)
        if kind in ("progress", "received"):
            meter.record(now, info.offset)
            if meter.due(now, info.offset, self.progress_interval):
                self._emit(ProgressEvent, info, now, "uploading", self._progress_message(info))
            elif kind == "received" and info.offset != meter.last_emitted_offset:
                self._emit_later(info, meter, now)  # a request ended between two allowed events
        elif kind == "created":
            meter.record(now, info.offset)
            self._emit(CreatedEvent, info, now, "created", "upload created", protocol=info.protocol)
        elif kind == "completed":
            meter.record(now, info.offset)
            if meter.last_emitted_offset != info.offset:
                self._emit(ProgressEvent, info, now, "uploading", self._progress_message(info))
            self._emit(CompletedEvent, info, now, "completed", "upload complete")
        elif kind in ("processing", "processed", "failed"):
            self._emit_processing(kind, info, now)
        elif kind == "source_failed":  # an import or a form's file that could not be received
            source = info.source or {}
            code, text = source.get("error_code", "failed"), source.get("error_message", "")
            stage = "import" if source.get("type") == "url" else "form"
            self._emit(
                FailedEvent,
                info,
                now,
                "failed",
                f"{stage} failed: {text}",
                stage=stage,
                error_code=code,
                error_message=text,
            )
        elif kind in ("terminated", "expired"):
            cls = TerminatedEvent if kind == "terminated" else ExpiredEvent
            self._emit(cls, info, now, kind, f"upload {kind}")
            self._meters.pop(info.id, None)

    def _emit_processing(self, kind: str, info: UploadInfo, now: float) -> None:
        state = info.processing or {}
        stage = state.get("stage")
        if kind == "processing":
            progress = state.get("stage_progress")
            message = state.get("message") or f"{stage}"
            self._emit(ProcessingEvent, info, now, "processing", message, stage=stage or "", stage_progress=progress)
        elif kind == "processed":
            self._emit(ProcessedEvent, info, now, "processed", "processing finished", result=state.get("result") or {})
        else:
            self._emit(
                FailedEvent,
                info,
                now,
                "failed",
                f"stage {stage} failed",
                stage=stage,
                error_code=state.get("error_code", "failed"),
                error_message=state.get("error_message", ""),
            )

    def _emit_later(self, info: UploadInfo, meter: ProgressMeter, now: float) -> None:
        """Throttle's trailing edge: where an upload stopped is reported once the interval allows, unless a
        newer progress event has been sent by then. One timer per upload, carrying the latest figures."""
        pending = self._trailing.get(info.id)
        self._trailing[info.id] = (pending[0] if pending else None, _copy(info))
        if pending is None:
            self._schedule_trailing(info.id, meter, now)

    def _schedule_trailing(self, upload_id: str, meter: ProgressMeter, now: float) -> None:
        delay = max(0.0, (meter.last_emitted_at or now) + self.progress_interval - now)
        handle = asyncio.get_running_loop().call_later(delay, self._fire_trailing, upload_id, meter)
        self._trailing[upload_id] = (handle, self._trailing[upload_id][1])

    def _fire_trailing(self, upload_id: str, meter: ProgressMeter) -> None:
        _, latest = self._trailing.pop(upload_id, (None, None))
        if latest is None or self._meters.get(upload_id) is not meter:
            return
        now = self.clock()
        if meter.last_emitted_offset is not None and latest.offset <= meter.last_emitted_offset:
            return  # a newer event already told it
        if not meter.due(now, latest.offset, self.progress_interval):
            self._trailing[upload_id] = (None, latest)
            self._schedule_trailing(upload_id, meter, now)
            return
        self._emit(ProgressEvent, latest, now, "uploading", self._progress_message(latest))

    def meter(self, upload_id: str) -> ProgressMeter:
        meter = self._meters.get(upload_id)
        if meter is None:
            meter = self._meters[upload_id] = ProgressMeter()
            if len(self._meters) > MAX_METERS:
                self._meters.popitem(last=False)
        else:
            self._meters.move_to_end(upload_id)
        return meter

    def speed_and_eta(self, info: UploadInfo) -> tuple[float | None, float | None]:
        meter = self._meters.get(info.id)
        if meter is None or info.is_complete:
            return None, None
        now = self.clock()
        speed = meter.bytes_per_second(now)
        return (round(speed, 1) if speed is not None else None), meter.eta_seconds(now, info.offset, info.size)

    def _progress_message(self, info: UploadInfo) -> str:
        share = percentage(info.offset, info.size)
        of = f" of {_mib(info.size)}" if info.size is not None else ""
        return f"received {_mib(info.offset)}{of}" + (f" ({share:.0f}%)" if share is not None else "")

    def _emit(self, cls: type[Event], info: UploadInfo, now: float, status: str, message: str, **extra: Any) -> None:
        meter = self._meters.get(info.id)
        if cls is ProgressEvent and meter is not None:
            meter.emitted(now, info.offset)
        speed, eta = self.speed_and_eta(info)
        batch = batch_of(info)
        event = cls(
            upload_id=info.id,
            seq=0,  # numbered by the worker, in publishing order
            timestamp=utc_timestamp(now),
            status=status,
            offset=info.offset,
            length=info.size,
            percentage=percentage(info.offset, info.size),
            bytes_per_second=speed,
            eta_seconds=round(eta, 1) if eta is not None else None,
            filename=filename(info.metadata),
            batch=batch,
            message=message,
            owner=info.owner,
            **extra,
        )
        # The worker reads the upload only to count it in its batch; the service goes on changing `info`.
        self._queue.put_nowait((event, _copy(info) if batch is not None else None))

    # -- the worker side: numbers events and publishes them one by one ---------------------------------

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        for task in list(self._republishing):
            task.cancel()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def drain(self) -> None:
        """Wait until every event reported so far is published (for tests and shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            event, info = await self._queue.get()
            try:
                await self._publish_one(event, info)
            except self.bus.unreachable as error:  # Redis is down: expected for a while, one line each
                log.error("could not publish %s event for %s: %s", event.type.value, event.upload_id, error)
                if event.terminal or isinstance(event, CompletedEvent):  # a stream's last word (or the pipeline's cue)
                    self._publish_later(event, info)
            except Exception:
                log.exception("could not publish %s event for %s", event.type.value, event.upload_id)
            finally:
                self._queue.task_done()

    async def _publish_one(self, event: Event, info: UploadInfo | None) -> None:
        published = await self.publish(event)
        if published is not None and info is not None and event.batch is not None:
            await self._update_batch(event, info)

    def _publish_later(self, event: Event, info: UploadInfo | None) -> None:
        """A stream's last word must outlive a Redis outage: its followers would otherwise wait for it forever.
        (Published late, it is still checked for order: dropped if the stream moved on meanwhile.)"""
        task = asyncio.get_running_loop().create_task(self._republish(event, info))
        self._republishing.add(task)
        task.add_done_callback(self._republishing.discard)

    async def _republish(self, event: Event, info: UploadInfo | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPUBLISH_SECONDS
        delay = 0.5
        while loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            try:
                await self._publish_one(event, info)
            except self.bus.unreachable:
                continue
            except Exception:
                log.exception("could not publish %s event for %s", event.type.value, event.upload_id)
                return
            log.info("published %s event for %s once shared state was back", event.type.value, event.upload_id)
            return
        log.error("gave up publishing %s event for %s after %gs", event.type.value, event.upload_id,
                  REPUBLISH_SECONDS)

    async def publish(self, event: Event) -> Event | None:
        """Numbered and published, unless it would not move its stream forward (a late event of another
        instance's, or of this one's throttle): then None, and nobody hears of it."""
        return await self.bus.publish_next(event)

    # -- batches --------------------------------------------------------------------------------------

    async def batch_state(self, name: str, owner: str | None) -> BatchState:
        key = batch_topic(owner, name)
        state = await self.batches.state(key, name)
        if state is None:
            infos = [i async for i in self.store.iter_infos() if batch_of(i) == name and i.owner == owner]
            state = rebuild(name, infos)
            await self.batches.replace(key, state)
        return state

    async def _update_batch(self, event: Event, info: UploadInfo) -> None:
        assert event.batch is not None
        await self.batch_state(event.batch, event.owner)  # make sure files that came before are counted
        key = batch_topic(event.owner, event.batch)
        file_state = {
            "completed": "finished",
            "processed": "finished",
            "terminated": "failed",
            "expired": "failed",
            "failed": "failed",
        }
        state_name = file_state.get(event.type.value, "uploading")
        if event.type.value == "completed" and info.processing is not None:
            state_name = "uploading"  # the pipeline has it still: the file is finished once processed (or failed)
        file = file_of(info, state_name)
        state = await self.batches.record(key, event.batch, info.id, file, declared_total(info))
        now = self.clock()
        meter = self._batch_meters.setdefault(key, ProgressMeter())
        meter.record(now, state.bytes_received)
        changed_state = event.type.value in file_state or event.type.value == "created"
        if changed_state or meter.due(now, state.bytes_received, self.progress_interval):
            meter.emitted(now, state.bytes_received)
            await self.publish(self._batch_event(BatchProgressEvent, state, now, meter, event.owner))
        if state.complete and await self.batches.claim_completion(key, event.batch):
            await self.publish(self._batch_event(BatchCompletedEvent, state, now, meter, event.owner))

    def _batch_event(
        self,
        cls: type[BatchProgressEvent] | type[BatchCompletedEvent],
        state: BatchState,
        now: float,
        meter: ProgressMeter,
        owner: str | None,
    ) -> Event:
        speed = meter.bytes_per_second(now)
        total = state.bytes_total
        eta = meter.eta_seconds(now, state.bytes_received, total)
        done = cls is BatchCompletedEvent
        return cls(
            upload_id=None,
            seq=0,
            timestamp=utc_timestamp(now),
            status="completed" if done else "uploading",
            offset=state.bytes_received,
            length=total,
            percentage=state.percentage,
            bytes_per_second=None if done or speed is None else round(speed, 1),
            eta_seconds=None if done or eta is None else round(eta, 1),
            batch=state.name,
            message=f"{state.finished} of {state.total} files finished, {state.failed} failed",
            owner=owner,
            total=state.total,
            finished=state.finished,
            failed=state.failed,
            bytes_received=state.bytes_received,
            bytes_total=total,
        )


def _copy(info: UploadInfo) -> UploadInfo:
    return replace(info, metadata=dict(info.metadata))
