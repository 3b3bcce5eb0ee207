"""Token buckets by key, for request rates and for refused authentications."""

from __future__ import annotations

from collections import OrderedDict

MAX_BUCKETS = 100_000


class TokenBuckets:
    """A bucket per key holding up to `burst` tokens, refilled at `rate` per second; the oldest keys are forgotten."""

    def __init__(self, rate: float, burst: int, max_keys: int = MAX_BUCKETS) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last refill)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def _wait(self, tokens: float) -> float:
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _keep(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` has a token (0 when it has one now); takes nothing."""
        tokens = self._tokens(key, now)
        self._keep(key, tokens, now)
        return self._wait(tokens)

    def take(self, key: str, now: float) -> float:
        """Take one token: 0 when taken, else the seconds until one is available (nothing is taken then)."""
        tokens = self._tokens(key, now)
        wait = self._wait(tokens)
        self._keep(key, tokens - 1 if wait == 0 else tokens, now)
        return wait
