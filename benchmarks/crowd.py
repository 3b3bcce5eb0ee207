"""The crowd of event subscribers for the latency figure, and the arithmetic of its samples."""

from __future__ import annotations

import json
import math
import select
import subprocess
import sys
import time

from benchmarks.clients import BenchError
from benchmarks.servers import ROOT


def latencies_ms(arrivals: list[list[tuple[int, int]]], piece_ends: list[int], sent_at: list[int]) -> list[float]:
    """For each subscriber and piece: the first event whose offset covers the piece, minus the piece's send time."""
    latencies = []
    for events in arrivals:
        events = sorted(events)
        for end, sent in zip(piece_ends, sent_at, strict=True):
            covering = next((at for at, offset in events if offset >= end), None)
            if covering is None:
                raise BenchError(f"a subscriber never saw an event covering offset {end}")
            latencies.append((covering - sent) / 1e6)
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[rank]


SUBSCRIBERS_PER_PROCESS = 250


class SubscriberCrowd:
    """Subscriber processes (benchmarks.subscribers), each following a share of the sockets."""

    def __init__(self, url: str, count: int) -> None:
        processes = max(1, math.ceil(count / SUBSCRIBERS_PER_PROCESS))
        shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.subscribers", "--url", url, "--count", str(share)],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )
            for share in shares
        ]

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in self.processes:
            assert process.stdout is not None
            readable, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = process.stdout.readline() if readable else b""
            if line.strip() != b"ready":
                raise BenchError(f"subscribers did not get ready (said {line[:200]!r})")

    def collect(self, timeout: float) -> list[list[tuple[int, int]]]:
        arrivals: list[list[tuple[int, int]]] = []
        for process in self.processes:
            out, _ = process.communicate(timeout=timeout)
            result = json.loads(out.decode().strip().splitlines()[-1])
            if result["errors"]:
                raise BenchError(f"subscribers: {result['errors'][0]}")
            arrivals += [[(at, offset) for at, offset in events] for events in result["arrivals"]]
        return arrivals

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
