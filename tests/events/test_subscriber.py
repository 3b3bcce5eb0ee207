"""A connection's queue: bounded, progress coalesces into the newest figures, terminal events are never lost."""

from __future__ import annotations

import asyncio

from tusd_py.events.bus import Subscriber
from tusd_py.events.models import (
    BatchCompletedEvent,
    BatchProgressEvent,
    CompletedEvent,
    CreatedEvent,
    Event,
    ProgressEvent,
    TerminatedEvent,
)


def event(
    cls: type[Event], upload_id: str | None = "a", seq: int = 1, offset: int = 0, batch: str | None = None
) -> Event:
    return cls(
        upload_id=upload_id, seq=seq, timestamp="2024-01-01T00:00:00.000Z", status="s", offset=offset, batch=batch
    )


async def drain(subscriber: Subscriber) -> list[Event]:
    taken = []
    while subscriber.pending:
        taken.append(await subscriber.get())
    return taken


async def test_events_come_out_in_the_order_they_went_in() -> None:
    subscriber = Subscriber(["upload:a"])
    sent = [event(CreatedEvent, seq=1), event(ProgressEvent, seq=2, offset=5), event(CompletedEvent, seq=3, offset=9)]
    for e in sent:
        subscriber.push(e)

    assert await drain(subscriber) == sent


async def test_unread_progress_of_an_upload_is_replaced_by_the_newest_figures() -> None:
    subscriber = Subscriber(["upload:a"])
    for seq in range(1, 6):
        subscriber.push(event(ProgressEvent, seq=seq, offset=seq * 100))

    assert [(e.seq, e.offset) for e in await drain(subscriber)] == [(5, 500)]
    assert subscriber.coalesced == 4


async def test_coalesced_progress_keeps_its_place_in_the_queue() -> None:
    subscriber = Subscriber(["all"])
    subscriber.push(event(ProgressEvent, "a", seq=1, offset=1))
    subscriber.push(event(CreatedEvent, "b", seq=2))
    subscriber.push(event(ProgressEvent, "a", seq=3, offset=2))

    assert [(e.upload_id, e.seq) for e in await drain(subscriber)] == [("a", 3), ("b", 2)]


async def test_progress_of_different_uploads_does_not_coalesce() -> None:
    subscriber = Subscriber(["all"])
    subscriber.push(event(ProgressEvent, "a", seq=1))
    subscriber.push(event(ProgressEvent, "b", seq=2))

    assert [e.upload_id for e in await drain(subscriber)] == ["a", "b"]


async def test_progress_after_a_terminal_event_is_not_folded_into_it() -> None:
    subscriber = Subscriber(["upload:a"])
    subscriber.push(event(ProgressEvent, seq=1, offset=9))
    subscriber.push(event(CompletedEvent, seq=2, offset=9))
    subscriber.push(event(ProgressEvent, seq=3, offset=9))

    assert [e.type.value for e in await drain(subscriber)] == ["progress", "completed", "progress"]


async def test_progress_read_already_is_not_replaced() -> None:
    subscriber = Subscriber(["upload:a"])
    subscriber.push(event(ProgressEvent, seq=1, offset=1))
    first = await subscriber.get()
    subscriber.push(event(ProgressEvent, seq=2, offset=2))

    assert first.seq == 1
    assert [e.seq for e in await drain(subscriber)] == [2]


async def test_batch_progress_coalesces_per_batch() -> None:
    subscriber = Subscriber(["all"])
    subscriber.push(event(BatchProgressEvent, None, seq=1, offset=1, batch="x"))
    subscriber.push(event(BatchProgressEvent, None, seq=2, offset=2, batch="y"))
    subscriber.push(event(BatchProgressEvent, None, seq=3, offset=3, batch="x"))

    assert [(e.batch, e.seq) for e in await drain(subscriber)] == [("x", 3), ("y", 2)]


async def test_the_queue_is_bounded_for_progress() -> None:
    subscriber = Subscriber(["all"], max_pending=3)
    for n in range(10):
        subscriber.push(event(ProgressEvent, f"u{n}", seq=n))

    assert subscriber.pending == 3
    assert subscriber.dropped == 7


async def test_terminal_events_are_kept_when_the_queue_is_full() -> None:
    subscriber = Subscriber(["all"], max_pending=2)
    for n in range(5):
        subscriber.push(event(ProgressEvent, f"u{n}", seq=n))
    subscriber.push(event(CompletedEvent, "u7", seq=10))
    subscriber.push(event(TerminatedEvent, "u8", seq=11))
    subscriber.push(event(BatchCompletedEvent, None, seq=12, batch="b"))

    kinds = [e.type.value for e in await drain(subscriber)]
    assert kinds[-3:] == ["completed", "terminated", "batch-completed"]
    assert subscriber.dropped == 3


async def test_a_thousand_progress_events_to_a_reader_that_never_reads_leave_one_pending() -> None:
    subscriber = Subscriber(["upload:a"], max_pending=256)
    for seq in range(1000):
        subscriber.push(event(ProgressEvent, seq=seq, offset=seq))
    subscriber.push(event(CompletedEvent, seq=1000, offset=999))

    assert subscriber.pending == 2
    assert [(e.type.value, e.seq) for e in await drain(subscriber)] == [("progress", 999), ("completed", 1000)]


async def test_push_never_blocks_and_get_waits_for_the_next_event() -> None:
    subscriber = Subscriber(["upload:a"])
    reader = asyncio.create_task(subscriber.get())
    await asyncio.sleep(0)  # let the reader start waiting on the empty queue
    assert not reader.done()

    subscriber.push(event(CreatedEvent, seq=1))

    assert (await asyncio.wait_for(reader, 5)).seq == 1


async def test_a_closed_subscriber_takes_no_more_events() -> None:
    subscriber = Subscriber(["upload:a"])
    subscriber.closed = True
    subscriber.push(event(CreatedEvent))

    assert subscriber.pending == 0


async def test_delivered_counts_what_the_reader_took() -> None:
    subscriber = Subscriber(["upload:a"])
    subscriber.push(event(CreatedEvent, seq=1))
    subscriber.push(event(CompletedEvent, seq=2))
    await drain(subscriber)

    assert subscriber.delivered == 2
