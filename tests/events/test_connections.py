"""The connection manager: how many may listen, in total and per user, and why a connection is refused."""

from __future__ import annotations

from tusd_py.events.bus import LocalEventBus
from tusd_py.events.connections import CLOSE_POLICY, CLOSE_TRY_LATER, ConnectionManager


def manager(max_total: int = 10, max_per_owner: int = 10) -> ConnectionManager:
    return ConnectionManager(LocalEventBus(), max_total=max_total, max_per_owner=max_per_owner)


def test_connections_under_both_limits_are_admitted() -> None:
    connections = manager(max_total=2, max_per_owner=2)
    connections.open("alice", ["upload:a"])

    assert connections.admit("alice") is None


def test_a_full_server_refuses_with_try_again_later() -> None:
    connections = manager(max_total=2)
    connections.open("alice", [])
    connections.open("bob", [])

    refusal = connections.admit("carol")

    assert refusal is not None
    assert refusal.close_code == CLOSE_TRY_LATER == 1013
    assert "2 event connections" in refusal.reason


def test_a_user_at_their_limit_is_refused_with_policy_violation() -> None:
    connections = manager(max_per_owner=1)
    connections.open("alice", [])

    refusal = connections.admit("alice")

    assert refusal is not None
    assert refusal.close_code == CLOSE_POLICY == 1008
    assert refusal.reason == "at most 1 event connections per user"


def test_one_users_connections_do_not_count_against_another() -> None:
    connections = manager(max_per_owner=1)
    connections.open("alice", [])

    assert connections.admit("bob") is None


def test_a_refusal_over_http_is_429_with_retry_after() -> None:
    connections = manager(max_total=0)

    refusal = connections.admit(None)
    assert refusal is not None
    error = refusal.as_error()

    assert error.status == 429
    assert error.headers["Retry-After"] == "5"
    assert error.body()["error_code"] == "too_many_event_connections"


def test_closing_a_connection_frees_its_place() -> None:
    connections = manager(max_total=1, max_per_owner=1)
    subscriber = connections.open("alice", ["upload:a"])
    connections.close(subscriber)

    assert connections.admit("alice") is None
    assert connections.bus.subscriber_count == 0  # type: ignore[attr-defined]


def test_stats_count_open_and_refused_connections() -> None:
    connections = manager(max_total=1)
    subscriber = connections.open(None, ["upload:a"])
    connections.admit(None)

    stats = connections.stats(subscriber)

    assert stats["connections"] == 1
    assert stats["max_connections"] == 1
    assert stats["refused"] == 1
    assert stats["subscriptions"] == ["upload:a"]
