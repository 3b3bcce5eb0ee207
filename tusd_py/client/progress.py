"""Upload progress for people: speed as a moving average, ETA, and the words and numbers to show them."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

SPEED_WINDOW_SECONDS = 5.0


class SpeedMeter:
    """Bytes per second over the samples of the last `window` seconds (at least the last two samples).

    Samples are positions (bytes so far); a position that goes back (a retry resent bytes) restarts the window."""

    def __init__(self, window: float = SPEED_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self.samples: deque[tuple[float, int]] = deque()

    def record(self, position: int) -> None:
        now = self.clock()
        if self.samples and position < self.samples[-1][1]:
            self.samples.clear()
        self.samples.append((now, position))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()

    def bytes_per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (start, first), (end, last) = self.samples[0], self.samples[-1]
        if end <= start:
            return None
        return (last - first) / (end - start)


def eta_seconds(remaining: int, speed: float | None) -> float | None:
    """Seconds left at `speed`; None while the speed is unknown or zero."""
    if remaining <= 0:
        return 0.0
    if speed is None or speed <= 0:
        return None
    return remaining / speed


def format_bytes(count: float) -> str:
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= factor:
            return f"{count / factor:.1f} {unit}"
    return f"{int(count)} B"


def format_speed(speed: float | None) -> str:
    return "–" if speed is None else f"{format_bytes(speed)}/s"


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
