"""The connection manager: who is listening, and how many may."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tusd_py.events.bus import EventBus, Subscriber
from tusd_py.protocol.errors import TusError

# WebSocket close codes: 1008 policy violation (this user has too many), 1013 try again later (the server is full).
CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013


@dataclass
class Refusal:
    close_code: int
    reason: str

    def as_error(self) -> TusError:
        return TusError(429, "too_many_event_connections", self.reason, headers={"Retry-After": "5"})


class ConnectionManager:
    def __init__(self, bus: EventBus, *, max_total: int, max_per_owner: int) -> None:
        self.bus = bus
        self.max_total = max_total
        self.max_per_owner = max_per_owner
        self._by_owner: Counter[str] = Counter()
        self._open: set[Subscriber] = set()
        self.refused = 0

    def admit(self, owner: str | None) -> Refusal | None:
        """Say why a new event connection cannot be opened, or None when it can."""
        if len(self._open) >= self.max_total:
            self.refused += 1
            return Refusal(CLOSE_TRY_LATER, f"the server has {self.max_total} event connections open; retry later")
        if self._by_owner[owner or ""] >= self.max_per_owner:
            self.refused += 1
            return Refusal(CLOSE_POLICY, f"at most {self.max_per_owner} event connections per user")
        return None

    def open(self, owner: str | None, topics: list[str], *, max_pending: int = 256) -> Subscriber:
        subscriber = self.bus.subscribe(topics, max_pending=max_pending, owner=owner)
        self._open.add(subscriber)
        self._by_owner[owner or ""] += 1
        return subscriber

    def close(self, subscriber: Subscriber) -> None:
        if subscriber in self._open:
            self._open.discard(subscriber)
            owner = subscriber.owner or ""
            self._by_owner[owner] -= 1
            if self._by_owner[owner] <= 0:
                del self._by_owner[owner]
        self.bus.unsubscribe(subscriber)

    def close_all(self) -> None:
        """Shutdown: every event stream ends now (WebSockets with 1012), instead of holding the server open."""
        for subscriber in list(self._open):
            subscriber.close()

    def stats(self, subscriber: Subscriber | None = None) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "connections": len(self._open),
            "max_connections": self.max_total,
            "refused": self.refused,
        }
        if subscriber is not None:
            stats.update(
                subscriptions=sorted(subscriber.topics),
                delivered=subscriber.delivered,
                pending=subscriber.pending,
                coalesced=subscriber.coalesced,
                dropped=subscriber.dropped,
            )
        return stats
