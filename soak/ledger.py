"""What the soak saw, kept as it happens: uploads and their sources, responses, successful PATCHes, faults and
event streams. The invariants and the report read it at the end."""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def upload_id(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Upload:
    """One upload a client made. `state`: running, finished (the client says it is complete), failed (the client
    gave up; the end resumes it), deleted."""

    kind: str
    source: Path
    size: int
    sha256: str
    url: str | None = None
    state: str = "running"
    interrupted: bool = False  # a client dropped or stalled mid-body, or gave up: it must resume to completion
    resumed: bool = False  # … and it did
    delete: bool = False  # the client deletes it once finished
    error: str | None = None
    finished_at: float | None = None
    checked: bool = False  # downloaded whole after it finished, with the source's SHA-256 (or not: a mismatch)


@dataclass
class Fault:
    kind: str
    target: str
    at: float
    until: float | None = None
    affected: set[str] = field(default_factory=set)  # upload ids with a request in flight where the fault hit
    note: str = ""


@dataclass
class StreamCheck:
    """What one event follower saw of one upload (over reconnects)."""

    upload: str
    transport: str
    events: int = 0
    reconnects: int = 0
    terminal: int = 0
    violations: list[str] = field(default_factory=list)
    ended: bool = False
    connected_at: float = 0.0  # when its last connection opened (time.monotonic)
    started_at: float = field(default_factory=time.monotonic)


class Ledger:
    def __init__(self, sources: Path) -> None:
        self.sources = sources
        self.uploads: list[Upload] = []
        self.statuses: Counter[int] = Counter()  # answers the soak's clients received
        self.error_bodies_bad: list[str] = []  # 4xx/5xx answers without a JSON body naming error_code
        self.patched: dict[str, list[float]] = defaultdict(list)  # upload id → times of successful PATCHes
        self.acked: dict[str, int] = defaultdict(int)  # upload id → highest offset a PATCH answer confirmed
        self.in_flight: dict[str, Counter[int]] = defaultdict(Counter)  # upload id → instance port → requests
        self.faults: list[Fault] = []
        self.troubled: list[tuple[float, int, str]] = []  # (time, instance port, upload id) of failed requests
        self.streams: list[StreamCheck] = []
        self.downloads = Counter[str]()  # checked, mismatched
        self.download_mismatches: list[str] = []
        self.client_failures: Counter[str] = Counter()
        self.figures: dict[str, object] = {}
        self.notes: list[str] = []
        self.counter = 0

    def source(self, size: int, rng_bytes: bytes) -> tuple[Path, str]:
        """A new source file of `size` bytes (a random block repeated with a counter, cheap yet unique) and its
        SHA-256."""
        self.counter += 1
        path = self.sources / f"source-{self.counter}.bin"
        digest = hashlib.sha256()
        with open(path, "wb") as file:
            written, block = 0, 0
            while written < size:
                piece = (block.to_bytes(8, "big") + rng_bytes)[: size - written]
                file.write(piece)
                digest.update(piece)
                written += len(piece)
                block += 1
        return path, digest.hexdigest()

    def add(self, upload: Upload) -> Upload:
        self.uploads.append(upload)
        return upload

    def answered(self, method: str, status: int, body: bytes | None) -> None:
        self.statuses[status] += 1
        if status >= 400 and method != "HEAD" and body is not None and not has_error_code(body):
            self.error_bodies_bad.append(f"{method} {status}: {body[:120]!r}")

    def patch_succeeded(self, uid: str, offset: int) -> None:
        self.patched[uid].append(time.monotonic())
        self.acked[uid] = max(self.acked[uid], offset)

    def affected(self, port: int | None) -> set[str]:
        """Uploads with a request in flight on `port` (on any instance when None)."""
        return {uid for uid, ports in self.in_flight.items() if any(
            count > 0 and (port is None or p == port) for p, count in ports.items())}

    def request_failed(self, port: int, uid: str) -> None:
        if uid:
            self.troubled.append((time.monotonic(), port, uid))

    def hit_by(self, fault: Fault, port: int | None, grace: float = 1.0) -> set[str]:
        """Uploads whose requests failed while the fault lasted (on `port`, or anywhere when None)."""
        end = (fault.until or time.monotonic()) + grace
        return {uid for at, p, uid in self.troubled if fault.at <= at <= end and (port is None or p == port)}

    def discard_source(self, upload: Upload) -> None:
        if upload.source.exists():
            os.unlink(upload.source)


def has_error_code(body: bytes) -> bool:
    import json

    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("error_code"), str)
