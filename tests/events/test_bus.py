"""The in-process event bus: topics by upload, batch and owner, many subscribers, sequence numbers, replay history."""

from __future__ import annotations

from tusd_py.events.bus import ALL, LocalEventBus, Subscriber, topics_of
from tusd_py.events.models import (
    BatchCompletedEvent,
    BatchProgressEvent,
    CompletedEvent,
    CreatedEvent,
    Event,
    ProgressEvent,
)
from tusd_py.events.streams import StreamFollower


def event(
    cls: type[Event] = ProgressEvent,
    upload_id: str | None = "a",
    seq: int = 1,
    batch: str | None = None,
    owner: str | None = None,
) -> Event:
    return cls(upload_id=upload_id, seq=seq, timestamp="2024-01-01T00:00:00.000Z", status="s", batch=batch, owner=owner)


async def taken(subscriber: Subscriber) -> list[Event]:
    return [await subscriber.get() for _ in range(subscriber.pending)]


def test_an_event_goes_to_its_upload_its_batch_its_owner_and_the_firehose() -> None:
    assert topics_of(event(upload_id="a", batch="b")) == [ALL, "upload:a", "batch:b"]
    assert topics_of(event(BatchProgressEvent, upload_id=None, batch="b")) == [ALL, "batch:b"]


def test_an_owners_batch_topic_is_named_within_that_owner() -> None:
    assert topics_of(event(upload_id="a", batch="b", owner="alice")) == [
        ALL,
        "upload:a",
        "batch:alice/b",
        "owner:alice",
    ]


async def test_every_subscriber_of_an_upload_gets_each_event() -> None:
    bus = LocalEventBus()
    subscribers = [bus.subscribe(["upload:a"]) for _ in range(5)]

    await bus.publish(event(upload_id="a"))

    assert [s.pending for s in subscribers] == [1] * 5


async def test_subscribers_of_other_uploads_get_nothing() -> None:
    bus = LocalEventBus()
    other = bus.subscribe(["upload:b"])

    await bus.publish(event(upload_id="a"))

    assert other.pending == 0


async def test_a_batch_subscriber_gets_its_files_events_and_the_batch_events() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["batch:b"])

    await bus.publish(event(CreatedEvent, upload_id="a", seq=1, batch="b"))
    await bus.publish(event(CreatedEvent, upload_id="c", seq=2, batch="other"))
    await bus.publish(event(BatchCompletedEvent, upload_id=None, seq=3, batch="b"))

    assert [e.seq for e in await taken(subscriber)] == [1, 3]


async def test_an_owner_subscriber_gets_every_event_of_that_owner_and_no_other() -> None:
    bus = LocalEventBus()
    alice = bus.subscribe(["owner:alice"], owner="alice")

    await bus.publish(event(upload_id="a", seq=1, owner="alice"))
    await bus.publish(event(upload_id="b", seq=2, owner="bob"))
    await bus.publish(event(upload_id="c", seq=3, owner="alice", batch="x"))

    assert [e.seq for e in await taken(alice)] == [1, 3]


async def test_a_subscriber_of_several_matching_topics_gets_an_event_once() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["upload:a", "batch:b", "owner:alice", ALL])

    await bus.publish(event(CreatedEvent, upload_id="a", batch="b", owner="alice"))

    assert subscriber.pending == 1


async def test_an_unsubscribed_subscriber_gets_nothing_more_and_is_forgotten() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["upload:a", "batch:b"])
    bus.unsubscribe(subscriber)

    await bus.publish(event(upload_id="a", batch="b"))

    assert subscriber.pending == 0
    assert bus.subscriber_count == 0


async def test_retopic_moves_a_subscriber_between_topics() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["upload:a"])
    bus.retopic(subscriber, ["upload:b"])

    await bus.publish(event(CreatedEvent, upload_id="a", seq=1))
    await bus.publish(event(CreatedEvent, upload_id="b", seq=2))

    assert [e.seq for e in await taken(subscriber)] == [2]
    assert subscriber.topics == {"upload:b"}


async def test_sequence_numbers_strictly_increase() -> None:
    bus = LocalEventBus()

    seqs = [await bus.next_seq("upload:a") for _ in range(100)]

    assert seqs == sorted(set(seqs))


async def test_sequence_numbers_keep_rising_across_a_new_bus() -> None:
    before = await LocalEventBus().next_seq("upload:a")

    assert await LocalEventBus().next_seq("upload:a") > before


async def test_replay_returns_the_events_after_a_seq_oldest_first() -> None:
    bus = LocalEventBus()
    for seq in range(1, 6):
        await bus.publish(event(upload_id="a", seq=seq))

    assert [e.seq for e in await bus.replay("upload:a", 2)] == [3, 4, 5]
    assert await bus.replay("upload:a", 5) == []


async def test_replay_is_per_stream() -> None:
    bus = LocalEventBus()
    await bus.publish(event(upload_id="a", seq=1, batch="b"))
    await bus.publish(event(BatchProgressEvent, upload_id=None, seq=2, batch="b"))

    assert [e.seq for e in await bus.replay("upload:a", 0)] == [1]
    assert [e.seq for e in await bus.replay("batch:b", 0)] == [2]


async def test_history_keeps_the_newest_events_up_to_its_size() -> None:
    bus = LocalEventBus(history_size=3)
    for seq in range(1, 11):
        await bus.publish(event(upload_id="a", seq=seq))

    assert [e.seq for e in await bus.replay("upload:a", 0)] == [8, 9, 10]


async def test_latest_is_the_last_event_of_a_stream() -> None:
    bus = LocalEventBus()
    await bus.publish(event(CreatedEvent, upload_id="a", seq=1))
    await bus.publish(event(CompletedEvent, upload_id="a", seq=2))

    latest = await bus.latest("upload:a")
    assert latest is not None and latest.seq == 2
    assert await bus.latest("upload:unknown") is None


async def test_a_follower_skips_live_events_it_already_replayed() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["upload:a"])
    backlog = [event(CreatedEvent, upload_id="a", seq=1), event(upload_id="a", seq=2)]
    for e in backlog:
        await bus.publish(e)  # also delivered live to the subscriber, as when a replay races a publish
    await bus.publish(event(CompletedEvent, upload_id="a", seq=3))

    followed = [e.seq async for e in StreamFollower(bus).follow(subscriber, "upload:a", backlog)]

    assert followed == [1, 2, 3]


async def test_a_per_upload_stream_ends_with_its_terminal_event() -> None:
    bus = LocalEventBus()
    subscriber = bus.subscribe(["upload:a"])
    await bus.publish(event(CompletedEvent, upload_id="a", seq=1))

    followed = [e.type.value async for e in StreamFollower(bus).follow(subscriber, "upload:a")]

    assert followed == ["completed"]
