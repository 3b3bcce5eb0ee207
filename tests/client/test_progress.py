"""Speed as a moving average, ETA, and how they read."""

from __future__ import annotations

import pytest

from tusd_py.client.progress import SpeedMeter, eta_seconds, format_bytes, format_eta, format_speed


class Clock:
    """A hand-driven clock, so speeds can be computed exactly."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_is_unknown_until_two_samples() -> None:
    meter = SpeedMeter(clock=Clock())
    assert meter.bytes_per_second() is None
    meter.record(10)
    assert meter.bytes_per_second() is None


def test_speed_is_bytes_over_time_across_the_window() -> None:
    clock = Clock()
    meter = SpeedMeter(window=5.0, clock=clock)
    for second in range(4):
        clock.now = 100.0 + second
        meter.record(second * 1000)
    assert meter.bytes_per_second() == pytest.approx(1000.0)


def test_old_samples_leave_the_window() -> None:
    clock = Clock()
    meter = SpeedMeter(window=5.0, clock=clock)
    meter.record(0)
    clock.now += 1
    meter.record(100_000)  # a fast start
    for _ in range(10):
        clock.now += 1
        meter.record(meter.samples[-1][1] + 10)  # then a crawl
    assert meter.bytes_per_second() == pytest.approx(10.0)


def test_a_position_that_goes_back_restarts_the_measure() -> None:
    clock = Clock()
    meter = SpeedMeter(clock=clock)
    meter.record(0)
    clock.now += 1
    meter.record(5000)
    clock.now += 1
    meter.record(3000)  # a retry resends from the server's offset
    assert meter.bytes_per_second() is None


def test_eta_is_remaining_bytes_at_the_speed() -> None:
    assert eta_seconds(3000, 1000.0) == 3.0
    assert eta_seconds(0, None) == 0.0
    assert eta_seconds(10, None) is None
    assert eta_seconds(10, 0.0) is None


def test_numbers_read_well() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**20) == "3.0 MiB"
    assert format_speed(2**20) == "1.0 MiB/s"
    assert format_speed(None) == "–"
    assert format_eta(None) == "–"
    assert format_eta(42.4) == "42s"
    assert format_eta(125) == "2m05s"
    assert format_eta(3 * 3600 + 60) == "3h01m"
