"""The event bus across instances: Redis pub/sub fans every event out, a capped Stream per upload keeps history."""

from __future__ import annotations

import json
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tusd_py.events.bus import ALL, LocalEventBus
from tusd_py.events.models import Event, event_from_dict
from tusd_py.events.ordering import REMOVED, Step
from tusd_py.state.redis import STATE_TTL_SECONDS, subscribe_forever

log = logging.getLogger("tusd_py.events")

# The next seq, from one counter for all streams. A new counter (first use, or Redis restarted without its data)
# starts from the clock in microseconds, as one process's does: seqs keep rising, so a client resuming with the
# last seq it saw is not handed events numbered below it. KEYS[1]: the counter; ARGV[9]: its TTL.
NEXT_SEQ = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  local now = redis.call('TIME')
  seq = tonumber(now[1]) * 1000000 + tonumber(now[2])
  redis.call('SET', KEYS[1], string.format('%.0f', seq))
end
redis.call('EXPIRE', KEYS[1], ARGV[9])
"""

# events/ordering.py's rule, applied where every instance's events meet: the stream's mark (rank, offset) is
# checked and moved, the event numbered, kept in history and fanned out, all in one atomic step. Numbering and
# publishing apart, two instances could number in one order and publish in the other.
# KEYS: the seq counter, the stream's mark, its history. ARGV: rank, repeats, offset, restarts, removed rank,
# the wire form after its seq, the channel, the history size, the TTL.
PUBLISH_NEXT = """
local rank, offset = tonumber(ARGV[1]), tonumber(ARGV[3])
local mark = redis.call('HMGET', KEYS[2], 'rank', 'offset')
local restarts = ARGV[4] == '1'
if mark[1] and not (restarts and tonumber(mark[1]) == tonumber(ARGV[5])) then
  local marked, reached = tonumber(mark[1]), tonumber(mark[2])
  if rank < marked or (rank == marked and (ARGV[2] ~= '1' or offset < reached)) then
    return 0
  end
  if not restarts and reached > offset then
    offset = reached
  end
end
""" + NEXT_SEQ + """
redis.call('HSET', KEYS[2], 'rank', rank, 'offset', string.format('%.0f', offset))
redis.call('EXPIRE', KEYS[2], ARGV[9])
local wire = '{"seq":' .. string.format('%.0f', seq) .. ',' .. ARGV[6]
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[8], '*', 'event', wire)
redis.call('EXPIRE', KEYS[3], ARGV[9])
redis.call('PUBLISH', ARGV[7], wire)
return string.format('%.0f', seq)
"""


CATCH_UP_BATCH = 500  # histories read in one round trip when catching up


def _wire(event: Event) -> str:
    """The event's one JSON form, plus the owner it is routed by (never shown to clients)."""
    return json.dumps({"owner": event.owner, "event": event.to_dict()}, separators=(",", ":"))


def _wire_after_seq(event: Event) -> str:
    """The wire form without its opening brace and seq, which PUBLISH_NEXT puts before it."""
    return '"owner":' + json.dumps(event.owner) + ',"event":' + event.to_json() + "}"


def _unwire(raw: bytes | str) -> Event:
    data = json.loads(raw)
    event = data["event"]
    if "seq" in data:  # numbered in Redis, by PUBLISH_NEXT
        event["seq"] = data["seq"]
    return event_from_dict(event, owner=data.get("owner"))


class RedisEventBus(LocalEventBus):
    """Local subscribers as in LocalEventBus; publishing goes through Redis, so every instance delivers it."""

    unreachable: tuple[type[Exception], ...] = (RedisError, OSError)

    def __init__(self, redis: Redis, *, prefix: str, history_size: int = 200) -> None:
        super().__init__(history_size=history_size)
        self.redis = redis
        self.prefix = prefix
        self.channel = f"{prefix}events"
        self._publish_next = redis.register_script(PUBLISH_NEXT)
        self._next_seq = redis.register_script(NEXT_SEQ + "return string.format('%.0f', seq)")
        self._last_seq = 0  # the highest seq this instance heard of: what it missed while deaf comes after it

    def _history_key(self, stream_key: str) -> str:
        return f"{self.prefix}history:{stream_key}"

    async def next_seq(self, stream_key: str) -> int:
        """One counter for all streams, as in-process: a client following several streams can resume with
        the single last seq it saw. Its TTL is renewed with every event, so it only lapses when idle for long."""
        args = [""] * 8 + [STATE_TTL_SECONDS]  # NEXT_SEQ reads its TTL where PUBLISH_NEXT has it
        return int(await self._next_seq(keys=[f"{self.prefix}seq"], args=args))

    async def publish_next(self, event: Event) -> Event | None:
        step = Step.of(event)
        key = event.stream_key
        seq = await self._publish_next(
            keys=[f"{self.prefix}seq", f"{self.prefix}mark:{key}", self._history_key(key)],
            args=[
                step.rank,
                int(step.repeats),
                step.offset,
                int(step.restarts),
                REMOVED,
                _wire_after_seq(event),
                self.channel,
                self.history_size,
                STATE_TTL_SECONDS,
            ],
        )
        return event.numbered(int(seq)) if int(seq) else None

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
        await subscribe_forever(self.redis, self.channel, self._heard, self.catch_up)

    def _heard(self, raw: bytes) -> None:
        event = _unwire(raw)
        self._last_seq = max(self._last_seq, event.seq)
        self.deliver(event)

    async def catch_up(self) -> None:
        """The subscription is back after Redis was unreachable (restarted, or the link broken): events published
        meanwhile never reached it. Each stream followed here gets them from its history, after what this instance
        last heard of; followers skip what they had (StreamFollower drops a seq it has passed), so a `completed`
        published while this instance was deaf still ends its streams.

        Seqs keep rising across a Redis restart (NEXT_SEQ starts a new counter from the clock), so "after the
        last seq heard" holds even when the history before the restart is gone."""
        streams = [topic for topic in self._subscriber_topics() if topic != ALL and not topic.startswith("owner:")]
        since, missed = self._last_seq, 0
        for start in range(0, len(streams), CATCH_UP_BATCH):
            async with self.redis.pipeline(transaction=False) as pipe:
                for stream in streams[start : start + CATCH_UP_BATCH]:
                    pipe.xrange(self._history_key(stream))
                histories = await pipe.execute()
            for entries in histories:
                for event in (_unwire(fields[b"event"]) for _, fields in entries or [] if fields):
                    if event.seq > since:
                        missed += 1
                        self._last_seq = max(self._last_seq, event.seq)
                        self.deliver(event)
        log.info(
            "events: subscription to Redis back; %d missed event(s) of %d followed stream(s) delivered from history",
            missed,
            len(streams),
        )
