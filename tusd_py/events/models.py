"""One typed model per event, and one way to turn any of them into JSON and back."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, ClassVar

from tusd_py.events.batches import batch_topic


class EventType(StrEnum):
    CREATED = "created"
    PROGRESS = "progress"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    EXPIRED = "expired"
    FAILED = "failed"
    PROCESSING = "processing"
    PROCESSED = "processed"
    BATCH_PROGRESS = "batch-progress"
    BATCH_COMPLETED = "batch-completed"


def utc_timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every event has. `seq` increases strictly per upload (per batch for batch events)."""

    type: ClassVar[EventType]
    upload_id: str | None
    seq: int
    timestamp: str
    status: str
    offset: int = 0
    length: int | None = None
    percentage: float | None = None
    bytes_per_second: float | None = None
    eta_seconds: float | None = None
    filename: str | None = None
    batch: str | None = None
    message: str = ""
    owner: str | None = field(default=None, compare=False)  # routes events; never sent to clients

    terminal: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("owner")
        return {"type": self.type.value, **data}

    def to_json(self) -> str:
        return self._json

    def numbered(self, seq: int) -> Event:
        """This event with its sequence number. A shallow copy with one field set: `dataclasses.replace` would
        run the whole constructor again, and this runs for every event published."""
        numbered = copy.copy(self)
        numbered.__dict__.pop("_json", None)
        object.__setattr__(numbered, "seq", seq)
        return numbered

    @cached_property
    def _json(self) -> str:
        """Made once per event however many subscribers it is sent to (an event never changes)."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @property
    def stream_key(self) -> str:
        """The stream whose `seq` this event carries: its upload, or its batch."""
        return f"upload:{self.upload_id}"


@dataclass(frozen=True, kw_only=True)
class CreatedEvent(Event):
    type = EventType.CREATED
    protocol: str = "tus"  # what created the upload: "tus" or "ietf-draft-<interop version>"


@dataclass(frozen=True, kw_only=True)
class ProgressEvent(Event):
    type = EventType.PROGRESS


@dataclass(frozen=True, kw_only=True)
class CompletedEvent(Event):
    type = EventType.COMPLETED


@dataclass(frozen=True, kw_only=True)
class TerminatedEvent(Event):
    type = EventType.TERMINATED
    terminal = True


@dataclass(frozen=True, kw_only=True)
class ExpiredEvent(Event):
    type = EventType.EXPIRED
    terminal = True


@dataclass(frozen=True, kw_only=True)
class FailedEvent(Event):
    type = EventType.FAILED
    terminal = True
    stage: str | None = None
    error_code: str = "failed"
    error_message: str = ""


@dataclass(frozen=True, kw_only=True)
class ProcessingEvent(Event):
    type = EventType.PROCESSING
    stage: str
    stage_progress: float | None = None


@dataclass(frozen=True, kw_only=True)
class ProcessedEvent(Event):
    type = EventType.PROCESSED
    terminal = True
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BatchEvent(Event):
    total: int = 0
    finished: int = 0
    failed: int = 0
    bytes_received: int = 0
    bytes_total: int | None = None

    @property
    def stream_key(self) -> str:
        return batch_topic(self.owner, self.batch or "")


@dataclass(frozen=True, kw_only=True)
class BatchProgressEvent(BatchEvent):
    type = EventType.BATCH_PROGRESS


@dataclass(frozen=True, kw_only=True)
class BatchCompletedEvent(BatchEvent):
    type = EventType.BATCH_COMPLETED
    terminal = True


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.type.value: cls
    for cls in (
        CreatedEvent,
        ProgressEvent,
        CompletedEvent,
        TerminatedEvent,
        ExpiredEvent,
        FailedEvent,
        ProcessingEvent,
        ProcessedEvent,
        BatchProgressEvent,
        BatchCompletedEvent,
    )
}


def event_from_dict(data: dict[str, Any], *, owner: str | None = None) -> Event:
    cls = EVENT_CLASSES[data["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names and k != "type"}, owner=owner)


def event_from_json(text: str, *, owner: str | None = None) -> Event:
    return event_from_dict(json.loads(text), owner=owner)
