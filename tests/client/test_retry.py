"""When the client retries and how long it waits: back-off with jitter, Retry-After, the retry budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tusd_py.client.errors import RetriesExhausted, TransientError
from tusd_py.client.retry import RetryPolicy, is_retryable, parse_retry_after, with_retries


@pytest.mark.parametrize("status", [409, 423, 429, 460, 500, 502, 503, 504])
def test_busy_and_failing_statuses_are_retried(status: int) -> None:
    assert is_retryable(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 412, 413, 415])
def test_refusals_are_not_retried(status: int) -> None:
    assert not is_retryable(status)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7") == 7.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("Fri, 02 Jan 2026 03:04:15 GMT", now) == 10.0


def test_retry_after_in_the_past_means_now() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after("Fri, 02 Jan 2026 03:00:00 GMT", now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-3"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_an_absurd_retry_after_is_capped() -> None:
    assert parse_retry_after("86400") == 300.0


def test_back_off_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(3))
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        for _ in range(20):
            assert ceiling / 2 <= policy.delay(failures) <= ceiling


def test_retry_after_wins_over_back_off() -> None:
    assert RetryPolicy(base_delay=1.0).delay(5, retry_after=0.25) == 0.25


async def test_with_retries_returns_once_an_attempt_succeeds() -> None:
    attempts = []

    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise TransientError("not yet", status=503)
        return "done"

    waits: list[float] = []
    result = await with_retries(RetryPolicy(retries=5, base_delay=0.001), flaky, lambda _e, wait: waits.append(wait))
    assert result == "done"
    assert len(attempts) == 3 and len(waits) == 2


async def test_with_retries_gives_up_after_the_budget_with_the_last_error() -> None:
    attempts = []

    async def broken() -> None:
        attempts.append(1)
        raise TransientError(f"attempt {len(attempts)}", status=502)

    with pytest.raises(RetriesExhausted) as raised:
        await with_retries(RetryPolicy(retries=2, base_delay=0.001), broken)
    assert len(attempts) == 3
    assert raised.value.attempts == 3
    assert raised.value.last.message == "attempt 3"
    assert raised.value.exit_code == 3
