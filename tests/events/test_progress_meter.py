"""Speed as a moving average over a recent window, ETA from it, and the progress throttle."""

from __future__ import annotations

import pytest

from tusd_py.events.progress import ProgressMeter


def meter_with(*samples: tuple[float, int], window: float = 5.0) -> ProgressMeter:
    meter = ProgressMeter(window)
    for now, offset in samples:
        meter.record(now, offset)
    return meter


def test_speed_is_unknown_before_two_samples() -> None:
    assert ProgressMeter().bytes_per_second(0.0) is None
    assert meter_with((0.0, 0)).bytes_per_second(0.0) is None


def test_speed_is_bytes_over_the_time_between_first_and_last_sample() -> None:
    meter = meter_with((0.0, 0), (1.0, 1000), (2.0, 3000))

    assert meter.bytes_per_second(2.0) == 1500.0


def test_speed_forgets_samples_older_than_the_window() -> None:
    # 100 B/s for ten seconds, then 1000 B/s: after five more seconds only the fast pace counts.
    samples = [(float(t), 100 * t) for t in range(11)]
    samples += [(10.0 + t, 1000 + 1000 * t) for t in range(1, 7)]
    meter = meter_with(*samples, window=5.0)

    assert meter.bytes_per_second(16.0) == pytest.approx(1000.0, rel=0.05)


def test_speed_drops_to_zero_after_a_window_without_movement() -> None:
    meter = meter_with((0.0, 0), (1.0, 1000))

    assert meter.bytes_per_second(7.0) == 0.0


def test_eta_is_the_remaining_bytes_at_the_current_speed() -> None:
    meter = meter_with((0.0, 0), (2.0, 2000))

    assert meter.eta_seconds(2.0, 2000, 12_000) == pytest.approx(10.0)


def test_eta_is_unknown_without_a_length_or_a_speed() -> None:
    assert meter_with((0.0, 0), (1.0, 1000)).eta_seconds(1.0, 1000, None) is None
    assert meter_with((0.0, 0)).eta_seconds(0.0, 0, 10) is None
    assert meter_with((0.0, 0), (1.0, 1000)).eta_seconds(9.0, 1000, 5000) is None  # stalled: speed 0


def test_a_lower_offset_restarts_the_average() -> None:
    meter = meter_with((0.0, 0), (1.0, 5000), (2.0, 100), (3.0, 300))

    assert meter.bytes_per_second(3.0) == 200.0


def test_the_first_progress_is_always_due() -> None:
    assert ProgressMeter().due(0.0, 0, interval=0.5)


def test_progress_is_not_due_within_the_interval() -> None:
    meter = ProgressMeter()
    meter.emitted(10.0, 100)

    assert not meter.due(10.49, 200, interval=0.5)
    assert meter.due(10.5, 200, interval=0.5)


def test_progress_without_movement_is_never_due() -> None:
    meter = ProgressMeter()
    meter.emitted(10.0, 100)

    assert not meter.due(60.0, 100, interval=0.5)
