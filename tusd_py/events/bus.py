"""The in-process event bus: topics, subscribers with bounded coalescing queues, and per-stream replay history."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Protocol

from tusd_py.events.batches import batch_topic
from tusd_py.events.models import Event, EventType
from tusd_py.events.ordering import Step, StreamMark, admits, advance

ALL = "all"


def topics_of(event: Event) -> list[str]:
    """Where an event goes: its upload, its batch, its owner, and the firehose."""
    topics = [ALL]
    if event.upload_id is not None:
        topics.append(f"upload:{event.upload_id}")
    if event.batch is not None:
        topics.append(batch_topic(event.owner, event.batch))
    if event.owner is not None:
        topics.append(f"owner:{event.owner}")
    return topics


class Subscriber:
    """One connection's queue. `push` never blocks the publisher: when the reader lags, a newer progress
    event replaces the pending one of the same upload, and progress is dropped past `max_pending`;
    every other event is always kept.

    With `write_now` set (by the stream's follower, see StreamFollower.follow), an event that would be the
    only one in the queue, while the reader is waiting for it, is first offered to `write_now`, which may send
    it at once: then it never enters the queue. Once anything waits in the queue, or the reader holds an event
    it has not finished sending, events queue, so they still go out in order.
    """

    def __init__(self, topics: Iterable[str], *, max_pending: int = 256, owner: str | None = None) -> None:
        self.topics = set(topics)
        self.owner = owner
        self.max_pending = max_pending
        self._pending: OrderedDict[object, Event] = OrderedDict()
        self._last_key: dict[str | None, object] = {}
        self._keys = itertools.count()
        self._ready = asyncio.Event()
        self._reading = False  # the reader handed out an event and has not come back for the next one yet
        self.write_now: Callable[[Event], bool] | None = None
        self.delivered = 0
        self.coalesced = 0
        self.dropped = 0
        self.closed = False

    def push(self, event: Event) -> None:
        if self.closed:
            return
        if self.write_now is not None and not self._pending and not self._reading and self.write_now(event):
            self.delivered += 1
            return
        if event.type in (EventType.PROGRESS, EventType.BATCH_PROGRESS):
            last = self._last_key.get(event.stream_key)
            if last is not None and last in self._pending and self._pending[last].type == event.type:
                self._pending[last] = event  # same place in the queue, newer figures
                self.coalesced += 1
                return
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                return
        key = next(self._keys)
        self._pending[key] = event
        self._last_key[event.stream_key] = key
        self._ready.set()

    async def get(self) -> Event:
        """The next event; SubscriberClosed once closed (the server is shutting down) and drained."""
        self._reading = False
        while not self._pending:
            if self.closed:
                raise SubscriberClosed
            self._ready.clear()
            await self._ready.wait()
        _, event = self._pending.popitem(last=False)
        self.delivered += 1
        self._reading = True
        return event

    @property
    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def prepend(self, events: list[Event]) -> None:
        """Put replayed events before anything queued, uncoalesced: a replay must be complete and in order."""
        if not events:
            return
        queued = list(self._pending.items())
        self._pending.clear()
        for event in events:
            self._pending[next(self._keys)] = event
        for key, event in queued:
            self._pending[key] = event
        self._ready.set()


class SubscriberClosed(Exception):
    """The subscription was closed by the server."""


class EventBus(Protocol):
    # Failures that mean the bus's shared store cannot be reached right now (logged as one line, not a traceback).
    unreachable: tuple[type[Exception], ...]

    async def publish(self, event: Event) -> None:
        """Publish an event as it is (numbered already)."""
        ...

    async def publish_next(self, event: Event) -> Event | None:
        """Number the event and publish it, in one step for every instance, if it moves its stream forward
        (events/ordering.py); the numbered event, or None when it would not (a late or stale event)."""
        ...

    async def next_seq(self, stream_key: str) -> int: ...

    async def replay(self, stream_key: str, since: int) -> list[Event]:
        """Events of a stream with seq above `since`, oldest first, from the bounded history."""
        ...

    async def latest(self, stream_key: str) -> Event | None: ...

    def subscribe(self, topics: Iterable[str], *, max_pending: int = 256, owner: str | None = None) -> Subscriber: ...

    def unsubscribe(self, subscriber: Subscriber) -> None: ...

    def retopic(self, subscriber: Subscriber, topics: Iterable[str]) -> None: ...


class LocalEventBus:
    """Everything in this process. Sequence numbers start from the clock, so they keep rising across restarts."""

    unreachable: tuple[type[Exception], ...] = ()

    def __init__(self, *, history_size: int = 200, max_streams: int = 10_000) -> None:
        self.history_size = history_size
        self.max_streams = max_streams
        self._seq = itertools.count(time.time_ns() // 1000)
        self._history: OrderedDict[str, deque[Event]] = OrderedDict()
        self._marks: OrderedDict[str, StreamMark] = OrderedDict()
        self._subscribers: dict[str, set[Subscriber]] = {}

    async def next_seq(self, stream_key: str) -> int:
        return next(self._seq)

    async def publish_next(self, event: Event) -> Event | None:
        key, step = event.stream_key, Step.of(event)
        mark = self._marks.get(key)
        if not admits(mark, step):
            return None
        self._marks[key] = advance(mark, step)
        self._marks.move_to_end(key)
        if len(self._marks) > self.max_streams:
            self._marks.popitem(last=False)
        numbered = event.numbered(next(self._seq))
        await self.publish(numbered)
        return numbered

    async def publish(self, event: Event) -> None:
        self._remember(event)
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Hand the event to every local subscriber of its topics, once each."""
        seen: set[int] = set()
        for topic in topics_of(event):
            for subscriber in self._subscribers.get(topic, ()):
                if id(subscriber) not in seen:
                    seen.add(id(subscriber))
                    subscriber.push(event)

    def _remember(self, event: Event) -> None:
        history = self._history.get(event.stream_key)
        if history is None:
            history = self._history[event.stream_key] = deque(maxlen=self.history_size)
            if len(self._history) > self.max_streams:
                self._history.popitem(last=False)
        else:
            self._history.move_to_end(event.stream_key)
        history.append(event)

    async def replay(self, stream_key: str, since: int) -> list[Event]:
        return [event for event in self._history.get(stream_key, ()) if event.seq > since]

    async def latest(self, stream_key: str) -> Event | None:
        history = self._history.get(stream_key)
        return history[-1] if history else None

    def subscribe(self, topics: Iterable[str], *, max_pending: int = 256, owner: str | None = None) -> Subscriber:
        subscriber = Subscriber(topics, max_pending=max_pending, owner=owner)
        for topic in subscriber.topics:
            self._subscribers.setdefault(topic, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.close()
        self._drop_topics(subscriber, subscriber.topics)

    def retopic(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        new = set(topics)
        self._drop_topics(subscriber, subscriber.topics - new)
        for topic in new - subscriber.topics:
            self._subscribers.setdefault(topic, set()).add(subscriber)
        subscriber.topics = new

    def _drop_topics(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        for topic in topics:
            members = self._subscribers.get(topic)
            if members is not None:
                members.discard(subscriber)
                if not members:
                    del self._subscribers[topic]

    def _subscriber_topics(self) -> list[str]:
        """Every topic someone here follows."""
        return list(self._subscribers)

    @property
    def subscriber_count(self) -> int:
        return len({id(s) for members in self._subscribers.values() for s in members})
