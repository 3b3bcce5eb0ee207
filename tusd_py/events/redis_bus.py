"""The event bus across instances: Redis pub/sub fans every event out, a capped Stream per upload keeps history."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis

from tusd_py.events.bus import LocalEventBus
from tusd_py.events.models import Event, event_from_dict
from tusd_py.state.redis import STATE_TTL_SECONDS, subscribe_forever

log = logging.getLogger("tusd_py.events")


def _wire(event: Event) -> str:
    """The event's one JSON form, plus the owner it is routed by (never shown to clients)."""
    return json.dumps({"owner": event.owner, "event": event.to_dict()}, separators=(",", ":"))


def _unwire(raw: bytes | str) -> Event:
    data = json.loads(raw)
    return event_from_dict(data["event"], owner=data.get("owner"))


class RedisEventBus(LocalEventBus):
    """Local subscribers as in LocalEventBus; publishing goes through Redis, so every instance delivers it."""

    def __init__(self, redis: Redis, *, prefix: str, history_size: int = 200) -> None:
        super().__init__(history_size=history_size)
        self.redis = redis
        self.prefix = prefix
        self.channel = f"{prefix}events"

    def _history_key(self, stream_key: str) -> str:
        return f"{self.prefix}history:{stream_key}"

    async def next_seq(self, stream_key: str) -> int:
        """One counter for all streams, as in-process: a client following several streams can resume with
        the single last seq it saw. Its TTL is renewed with every event, so it only lapses when idle for long."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(f"{self.prefix}seq")
            pipe.expire(f"{self.prefix}seq", STATE_TTL_SECONDS)
            seq, _ = await pipe.execute()
        return int(seq)

    async def publish(self, event: Event) -> None:
        wire = _wire(event)
        history = self._history_key(event.stream_key)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(history, {"event": wire}, maxlen=self.history_size, approximate=False)
            pipe.expire(history, STATE_TTL_SECONDS)
            pipe.publish(self.channel, wire)
            await pipe.execute()

    async def replay(self, stream_key: str, since: int) -> list[Event]:
        entries = await self.redis.xrange(self._history_key(stream_key)) or []
        events = [_unwire(fields[b"event"]) for _, fields in entries if fields]
        return [event for event in events if event.seq > since]

    async def latest(self, stream_key: str) -> Event | None:
        entries = await self.redis.xrevrange(self._history_key(stream_key), count=1) or []
        fields = entries[0][1] if entries else None
        return _unwire(fields[b"event"]) if fields else None

    async def listen(self) -> None:
        """Deliver what any instance publishes to this instance's subscribers."""
        await subscribe_forever(self.redis, self.channel, lambda raw: self.deliver(_unwire(raw)))
