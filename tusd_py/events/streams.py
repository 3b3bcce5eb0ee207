"""Following a stream of events: what was missed first (replay), then live, until the stream's terminal event."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from tusd_py.events.bus import EventBus, Subscriber, SubscriberClosed
from tusd_py.events.models import Event, EventType


class StreamFollower:
    def __init__(self, bus: EventBus, *, completion_is_terminal: bool = True) -> None:
        self.bus = bus
        self.completion_is_terminal = completion_is_terminal

    def ends(self, event: Event, stream_key: str | None) -> bool:
        """Whether this event closes the followed stream (a per-upload or per-batch stream)."""
        if stream_key is None or event.stream_key != stream_key:
            return False
        return event.terminal or (event.type is EventType.COMPLETED and self.completion_is_terminal)

    async def backlog(self, stream_key: str, since: int | None) -> list[Event]:
        """With `since`: everything after it still in history. Without: the latest event, to show the state."""
        if since is not None:
            return await self.bus.replay(stream_key, since)
        latest = await self.bus.latest(stream_key)
        return [latest] if latest is not None else []

    async def follow(
        self,
        subscriber: Subscriber,
        stream_key: str | None,
        first: list[Event] | None = None,
        *,
        since: int | None = None,
        send_now: Callable[[Event], bool] | None = None,
    ) -> AsyncIterator[Event]:
        """`first` (a backlog), then live events; per stream in strictly increasing seq, no repeats.

        An event of `first` at or below `since` was seen already: it is not sent again, but when it is the
        stream's last, the stream ends with it (a client that reconnects after the end learns nothing new).

        With `send_now` (a function that sends an event at once and says whether it did), live events the
        reader is waiting for go out through it from the publisher's own call, and only the rest (the stream's
        last event, and whatever comes while the socket cannot take more) is yielded to the reader.
        """
        last_seq: dict[str, int] = {}
        for event in first or []:
            last_seq[event.stream_key] = event.seq
            if since is None or event.seq > since:
                yield event
            if self.ends(event, stream_key):
                return

        def write_now(event: Event) -> bool:
            if event.seq <= last_seq.get(event.stream_key, -1):
                return True  # a repeat: nothing to send
            if self.ends(event, stream_key) or send_now is None or not send_now(event):
                return False  # the reader sends it (and, for the last one, ends the stream after it)
            last_seq[event.stream_key] = event.seq
            return True

        if send_now is not None:
            subscriber.write_now = write_now
        try:
            while True:
                try:
                    event = await subscriber.get()
                except SubscriberClosed:
                    return
                if event.seq <= last_seq.get(event.stream_key, -1):
                    continue
                last_seq[event.stream_key] = event.seq
                yield event
                if self.ends(event, stream_key):
                    return
        finally:
            subscriber.write_now = None
