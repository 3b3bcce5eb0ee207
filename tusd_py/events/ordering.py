"""The order of one stream's events: each may only move its upload (or batch) forward along its life."""

from __future__ import annotations

from dataclasses import dataclass

from tusd_py.events.models import Event, EventType

# An upload's life, as ranks: created, progress, completed, processing, processed or failed, then its removal.
# An event is published only if it moves its stream forward: to a higher rank, or, for the kinds that repeat
# (progress, processing), to the same rank without going back in offset. So nothing follows a removal or a
# second end, no progress follows completion, and no progress reports less than an earlier one, whichever
# instance's delayed event it is. A creation may start a stream again after a removal (an id chosen anew).
RANKS: dict[EventType, int] = {
    EventType.CREATED: 0,
    EventType.PROGRESS: 1,
    EventType.BATCH_PROGRESS: 1,
    EventType.COMPLETED: 2,
    EventType.PROCESSING: 3,
    EventType.PROCESSED: 4,
    EventType.FAILED: 4,
    EventType.TERMINATED: 5,
    EventType.EXPIRED: 5,
    EventType.BATCH_COMPLETED: 5,
}
REMOVED = 5
REPEATABLE = frozenset({EventType.PROGRESS, EventType.BATCH_PROGRESS, EventType.PROCESSING})


@dataclass(frozen=True)
class Step:
    """What the ordering needs of an event: the rank it moves its stream to, whether it may repeat, its offset,
    and whether it starts the stream anew (a creation)."""

    rank: int
    repeats: bool
    offset: int
    restarts: bool

    @classmethod
    def of(cls, event: Event) -> Step:
        kind = event.type
        return cls(RANKS[kind], kind in REPEATABLE, event.offset, kind is EventType.CREATED)


@dataclass(frozen=True)
class StreamMark:
    """Where a stream stands: the rank of its latest published event and the highest offset reported."""

    rank: int
    offset: int


def admits(mark: StreamMark | None, step: Step) -> bool:
    if mark is None or (step.restarts and mark.rank == REMOVED):
        return True
    if step.rank != mark.rank:
        return step.rank > mark.rank
    return step.repeats and step.offset >= mark.offset


def advance(mark: StreamMark | None, step: Step) -> StreamMark:
    """The mark after publishing `step` (which `admits` allowed)."""
    if mark is None or step.restarts:
        return StreamMark(step.rank, step.offset)
    return StreamMark(step.rank, max(mark.offset, step.offset))
