"""Speed, ETA and throttling for one upload's progress: a moving average over a recent window."""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 5.0


class ProgressMeter:
    """Offsets sampled over time; speed is bytes per second across the last `window` seconds."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self.last_emitted_at: float | None = None
        self.last_emitted_offset: int | None = None

    def record(self, now: float, offset: int) -> None:
        if self._samples and offset < self._samples[-1][1]:
            self._samples.clear()  # the upload restarted lower (should not happen); start afresh
        self._samples.append((now, offset))
        while len(self._samples) > 2 and now - self._samples[1][0] > self.window:
            self._samples.popleft()

    def bytes_per_second(self, now: float) -> float | None:
        """None until two samples exist; 0 once nothing moved for a whole window."""
        if len(self._samples) < 2:
            return None
        (first_time, first_offset), (last_time, last_offset) = self._samples[0], self._samples[-1]
        if now - last_time > self.window:
            return 0.0
        elapsed = last_time - first_time
        if elapsed <= 0:
            return None
        return (last_offset - first_offset) / elapsed

    def eta_seconds(self, now: float, offset: int, length: int | None) -> float | None:
        speed = self.bytes_per_second(now)
        if length is None or not speed:
            return None
        return max(0.0, (length - offset) / speed)

    def due(self, now: float, offset: int, interval: float) -> bool:
        """Throttle: the first progress always; later ones only with movement and `interval` apart."""
        if self.last_emitted_at is None:
            return True
        return offset != self.last_emitted_offset and now - self.last_emitted_at >= interval

    def emitted(self, now: float, offset: int) -> None:
        self.last_emitted_at = now
        self.last_emitted_offset = offset
