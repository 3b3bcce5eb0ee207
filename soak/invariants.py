"""What must hold at the end of a soak, each check counted: every finished upload has its source's bytes, every
interrupted one was resumed to completion, no 500, every error a JSON body with error_code, event streams in
order with one terminal event, and nothing left behind (temp files, locks, keys without TTL, descriptors,
threads, memory beyond a documented bound of the warm-up value)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace

import httpx
import redis

from soak.ledger import Ledger, Upload, upload_id
from soak.topology import ProcessFigures, Topology, describe_descriptors, descriptor_kinds

ACCESS_LINE = re.compile(r"tusd_py\.access \[[^\]]*\] (\S+) (\S+) (\d{3}|-)")
# How far an instance may be from its warm-up figures at the end (docs/RELIABILITY.md says why these).
FD_BOUND = 32  # descriptors other than pooled Redis connections (reported apart: the pool keeps its high-water mark)
THREAD_BOUND = 16  # thread pools fill up to their size under load and stay; a leak grows past any bound
RSS_BOUND = 128 * 2**20


@dataclass
class Check:
    name: str
    checked: int = 0
    failed: list[str] = field(default_factory=list)
    known: bool = False  # a known server defect: its failures are reported, not counted against the verdict

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, good: bool, failure: str) -> None:
        self.checked += 1
        if not good:
            self.failed.append(failure)


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    server_statuses: Counter[int] = field(default_factory=Counter)
    bytes_verified: int = 0
    uploads_verified: int = 0
    bytes_lost: int = 0

    def add(self, name: str) -> Check:
        check = Check(name)
        self.checks.append(check)
        return check

    @property
    def ok(self) -> bool:
        return all(check.ok or check.known for check in self.checks) and self.bytes_lost == 0


async def check_uploads(verdict: Verdict, ledger: Ledger, client: httpx.AsyncClient) -> None:
    """Every finished upload's bytes against its source; every deleted one gone; every acknowledged byte there.
    (All instances are up and no fault is injected any more: a request that fails here is a failed check.)"""
    sha = verdict.add("finished uploads have the source's sha256")
    gone = verdict.add("deleted uploads answer 404 or 410")
    kept = verdict.add("no acknowledged byte lost (offset never below a PATCH answer)")
    resumed = verdict.add("interrupted uploads resumed to completion")
    for upload in ledger.uploads:
        try:
            await _check_upload(verdict, ledger, client, upload, (sha, gone, kept, resumed))
        except httpx.HTTPError as error:
            sha.count(False, f"{upload.kind} {upload.url}: {type(error).__name__} {error}")
    downloads = verdict.add("downloads during the load matched the source (whole and ranged)")
    for mismatch in ledger.download_mismatches:
        downloads.count(False, mismatch)
    downloads.checked += ledger.downloads["checked"] + ledger.downloads["ranges"] - len(ledger.download_mismatches)


async def _check_upload(verdict: Verdict, ledger: Ledger, client: httpx.AsyncClient, upload: Upload,
                        checks: tuple[Check, Check, Check, Check]) -> None:
    sha, gone, kept, resumed = checks
    if upload.interrupted:
        resumed.count(upload.state in ("finished", "deleted"),
                      f"{upload.kind} {upload.url}: {upload.state}: {upload.error}")
    if upload.url is None:
        return
    url = "/files/" + upload_id(upload.url)
    if upload.state == "deleted":
        response = await client.head(url, headers={"Tus-Resumable": "1.0.0"})
        gone.count(response.status_code in (404, 410), f"{url}: HEAD {response.status_code} after DELETE")
        return
    head = await client.head(url, headers={"Tus-Resumable": "1.0.0"})
    offset = int(head.headers.get("upload-offset", "0")) if head.status_code == 200 else 0
    acked = ledger.acked.get(upload_id(upload.url), 0)
    lost = max(0, acked - offset)
    verdict.bytes_lost += lost
    kept.count(lost == 0, f"{upload.kind} {url}: server holds {offset} (HEAD {head.status_code}), a PATCH "
                          f"answer said {acked}")
    if upload.state != "finished":
        return
    digest = hashlib.sha256()
    async with client.stream("GET", url) as response:
        status = response.status_code
        async for piece in response.aiter_bytes():
            digest.update(piece)
    good = status == 200 and digest.hexdigest() == upload.sha256
    sha.count(good, f"{upload.kind} {url}: GET {status}, sha256 {'differs' if status == 200 else 'unknown'}")
    if good:
        verdict.uploads_verified += 1
        verdict.bytes_verified += upload.size
    else:
        verdict.bytes_lost += upload.size


def check_responses(verdict: Verdict, ledger: Ledger, logs: list[str]) -> None:
    """Responses by status, as every instance's access lines say (all clients), and what clients saw of errors."""
    for log in logs:
        for match in ACCESS_LINE.finditer(log):
            status = match.group(3)
            verdict.server_statuses[int(status) if status.isdigit() else 0] += 1
    five_hundreds = verdict.add("no 500 answered (access lines of every instance)")
    total = sum(verdict.server_statuses.values())
    five_hundreds.checked = total - verdict.server_statuses[500]
    if verdict.server_statuses[500]:
        five_hundreds.failed.append(f"{verdict.server_statuses[500]} answers were 500")
    tracebacks = verdict.add("no traceback logged")
    count = sum(log.count("Traceback (most recent call last)") for log in logs)
    tracebacks.count(count == 0, f"{count} tracebacks in the instances' logs")
    if count:
        tracebacks.failed.extend(sorted(set(_raised(logs)))[:10])
    bodies = verdict.add("every 4xx/5xx a client saw has a JSON body with error_code")
    errors = sum(n for status, n in ledger.statuses.items() if status >= 400)
    bodies.checked = errors - len(ledger.error_bodies_bad)
    bodies.failed.extend(ledger.error_bodies_bad[:20])
    if len(ledger.error_bodies_bad) > 20:
        bodies.failed.append(f"… {len(ledger.error_bodies_bad) - 20} more")


# A server defect the soak found and that is not fixed yet: named here, counted in the report as KNOWN (neither ok
# nor failed), and listed in tests/soak/test_smoke.py. A stream followed across a Redis restart can miss its
# terminal event: events published before its instance has subscribed to Redis again are lost to the streams
# open on it (pub/sub keeps nothing), and a stream opened after Redis came back empty gets no opening event and
# no replay for an upload that ended before.
KNOWN_STREAM_DEFECT = "KNOWN DEFECT: a stream followed across a Redis restart can miss its terminal event"


def _raised(logs: list[str]) -> list[str]:
    """The line before each traceback and the exception it ends with, to tell in the report what failed."""
    found = []
    for log in logs:
        lines = log.splitlines()
        for n, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                end = next((m for m in range(n + 1, len(lines)) if lines[m] and not lines[m].startswith(" ")), n)
                before = lines[n - 1][24:160] if n else ""
                found.append(f"{before} … {lines[end][:200]}")
    return found


def check_streams(verdict: Verdict, ledger: Ledger) -> None:
    order = verdict.add("event streams: seq only grows, offsets never go back, nothing after the terminal event")
    terminal = verdict.add("event streams of finished or deleted uploads end with exactly one terminal event")
    known = verdict.add(KNOWN_STREAM_DEFECT)
    known.known = True
    states = {upload_id(upload.url): upload.state for upload in ledger.uploads if upload.url}
    restarts = [fault.at for fault in ledger.faults if fault.kind == "redis-restart"]
    for stream in ledger.streams:
        order.count(not stream.violations, f"{stream.transport} {stream.upload}: {'; '.join(stream.violations)}")
        if states.get(stream.upload) not in ("finished", "deleted"):
            continue
        what = (f"{stream.transport} {stream.upload}: {stream.terminal} terminal events "
                f"({stream.events} events, {stream.reconnects} reconnects)")
        if stream.terminal == 0 and any(at >= stream.started_at for at in restarts):
            known.count(False, what)
        else:
            terminal.count(stream.terminal == 1, what)


# A second one: a creation body trickled a byte a second by the slow-client crowd (whose ids the soak never learns)
# can leave its request running after the client is gone, renewing its lock until the instance shuts down.
KNOWN_LOCK_DEFECT = "KNOWN DEFECT: a trickled creation body's request can outlive its client, holding its lock"


def check_leftovers(verdict: Verdict, topology: Topology, ledger: Ledger) -> None:
    """Once the load is over and every lease ran out: nothing temporary on disk or in Redis."""
    temp = verdict.add("no temporary files left in the upload directory")
    for name in topology.disk.files():
        temp.count(not name.endswith(".tmp"), f"left behind: {name}")
    locks = verdict.add("no lock left in Redis")
    known = verdict.add(KNOWN_LOCK_DEFECT)
    known.known = True
    ours = {upload_id(upload.url) for upload in ledger.uploads if upload.url}
    ttl = verdict.add("every Redis key has a TTL")
    with redis.Redis.from_url(topology.redis.url) as client:
        for key in client.scan_iter("*"):
            name = key.decode(errors="replace")
            if ":lock:" in name:
                (locks if name.rsplit(":", 1)[-1] in ours else known).count(False, _held(name, topology))
            ttl.count(client.pttl(key) != -1, f"no TTL: {name}")
    locks.checked += 1


Figures = dict[str, tuple[ProcessFigures | None, ProcessFigures | None]]  # instance → (warm-up, end)


def _held(key: str, topology: Topology) -> str:
    """A lock still held after the load ended: which upload, what is on disk, which instance logged it."""
    uid = key.rsplit(":", 1)[-1]
    data = topology.disk.path / uid
    size = data.stat().st_size if data.exists() else None
    logs = [instance.name for instance, log in zip(topology.instances, topology.logs(), strict=False) if uid in log]
    return f"lock {key} still held (data file: {size} bytes; named in the logs of {logs or 'no instance'})"


def check_resources(verdict: Verdict, topology: Topology, names: dict[int, str]) -> Figures:
    """Each instance's descriptors, threads and memory against its warm-up figures (what its descriptors lead to,
    when there are too many)."""
    check = verdict.add(f"instances within bounds of warm-up (fds but Redis connections +{FD_BOUND}, "
                        f"threads +{THREAD_BOUND}, RSS +{RSS_BOUND // 2**20} MiB)")
    figures: Figures = {}
    for instance in topology.instances:
        now = instance.figures()
        base = instance.baseline
        if now is not None and instance.pid is not None:  # Redis connections counted with every peer named
            now = replace(now, redis_sockets=descriptor_kinds(instance.pid, names).get("socket to redis", 0))
        figures[instance.name] = (base, now)
        if base is None or now is None:
            check.count(False, f"{instance.name}: no figures (warm-up {base}, end {now})")
            continue
        if now.other_fds > base.other_fds + FD_BOUND and instance.pid is not None:
            described = describe_descriptors(instance.pid, names)
            check.count(False, f"{instance.name}: fds {base.other_fds} → {now.other_fds} ({described})")
        else:
            check.count(True, "")
        check.count(now.threads <= base.threads + THREAD_BOUND,
                    f"{instance.name}: threads {base.threads} → {now.threads}")
        check.count(now.rss <= base.rss + RSS_BOUND, f"{instance.name}: RSS {base.rss >> 20} → {now.rss >> 20} MiB")
    return figures


GRACEFUL = (0, -15)  # uvicorn ends by the SIGTERM it re-raises once shut down (docs/deployment.md)


def check_shutdown(verdict: Verdict, statuses: dict[str, int | None]) -> None:
    check = verdict.add("instances shut down gracefully on SIGTERM at the end (within --shutdown-timeout)")
    for name, status in statuses.items():
        check.count(status in GRACEFUL, f"{name}: exit status {status} (None: it had to be killed)")
