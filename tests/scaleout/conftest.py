"""Fixtures for scale-out tests: one Redis and two instances for the session, more instances on demand."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.scaleout.cluster import Cluster
from tests.support.live_server import LiveServer
from tests.support.redis_server import RedisServer

# Short, so a dead or paused holder's lock expires within a test; a progress event at most every 100 ms.
CLUSTER_ARGS = ("--lock-ttl", "2s", "--progress-interval", "100ms")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Instances A and B on one Redis and one upload directory, for tests that only touch their own uploads."""
    root = tmp_path_factory.mktemp("scaleout")
    redis_server = RedisServer(root)
    redis_server.start()
    cluster = Cluster(root, redis_server, *CLUSTER_ARGS)
    try:
        cluster.start_instances(2)
        yield cluster
    finally:
        cluster.stop()
        redis_server.stop()


@pytest.fixture
def a(cluster: Cluster) -> LiveServer:
    return cluster.instances[0]


@pytest.fixture
def b(cluster: Cluster) -> LiveServer:
    return cluster.instances[1]


@pytest.fixture
def doomed(cluster: Cluster) -> Iterator[LiveServer]:
    """One more instance in the cluster, for a test that kills or pauses it; it never outlives the test."""
    [server] = cluster.start_instances(1)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)  # a paused instance must not be left paused
    server.kill()
    cluster.instances.remove(server)
