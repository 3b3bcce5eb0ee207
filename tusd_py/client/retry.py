"""When to try a request again and how long to wait: exponential back-off with jitter, or the server's Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tusd_py.client.errors import RetriesExhausted, TransientError

T = TypeVar("T")

# 409: the offset moved (re-HEAD and go on); 423: another request holds the upload; 429: rate limited;
# 460: checksum mismatch (the bytes were damaged on the way); 5xx: the server or a proxy is in trouble.
RETRYABLE_STATUSES = frozenset({409, 423, 429, 460})
# Answers that say the request changed nothing, so the offset is still known: no HEAD needed before retrying
# (and a HEAD after a 429 would only spend the request budget the retry needs).
OFFSET_UNCHANGED = frozenset({423, 429, 460})
LONGEST_RETRY_AFTER = 300.0


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), LONGEST_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), LONGEST_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` further attempts after the first, waiting `base_delay` × 2ⁿ (capped, with full jitter) between."""

    retries: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """The wait before the next attempt, after `failures` failures in a row (1 for the first)."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (failures - 1))
        # Half fixed, half random: never a hammering zero, and clients that failed together spread out.
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


OnRetry = Callable[[TransientError, float], None]


async def with_retries(policy: RetryPolicy, attempt: Callable[[], Awaitable[T]], on_retry: OnRetry | None = None) -> T:
    """Run `attempt` until it succeeds; a TransientError waits and retries, past the budget RetriesExhausted."""
    failures = 0
    while True:
        try:
            return await attempt()
        except TransientError as error:
            failures += 1
            if failures > policy.retries:
                raise RetriesExhausted(failures, error) from error
            wait = policy.delay(failures, error.retry_after)
            if on_retry is not None:
                on_retry(error, wait)
            await asyncio.sleep(wait)
