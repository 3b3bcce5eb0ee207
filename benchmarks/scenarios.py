"""What is measured: each scenario drives one running server with the same client and returns its figures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from benchmarks.clients import BenchError, Body, NotPossible, TusClient
from benchmarks.crowd import SubscriberCrowd, latencies_ms, percentile
from benchmarks.loadgen import run_wrk
from benchmarks.procfs import RssPoller, cpu_seconds, reset_peak, status_kib
from benchmarks.servers import TUSD_PY, RunningServer, ServerKind
from benchmarks.socket_upload import SocketUpload

MiB = 2**20
GiB = 2**30
LAST_BYTES = 64 * 1024  # the event latency is timed from the moment a piece's last LAST_BYTES go to the socket


@dataclass(frozen=True)
class Sizes:
    upload: int  # one upload in one PATCH, and in chunks
    chunk: int
    parallel_uploads: int
    parallel_size: int
    creates: int  # empty POSTs per run
    create_connections: int
    small_files: int  # small files per run and driver, over `create_connections` connections
    small_size: int
    large: int  # the upload during which peak RSS is sampled
    download: int
    subscribers: int
    event_piece: int  # one piece = one write block of tusd_py, so each piece makes one progress event
    event_pieces: int
    event_gap: float  # seconds between pieces

    @property
    def data_file(self) -> int:
        return max(self.upload, self.parallel_uploads * self.parallel_size, self.large, self.download)


FULL = Sizes(
    upload=GiB, chunk=8 * MiB, parallel_uploads=32, parallel_size=32 * MiB, creates=2000, create_connections=8,
    small_files=2000, small_size=64 * 1024, large=4 * GiB, download=GiB, subscribers=1000, event_piece=4 * MiB,
    event_pieces=32, event_gap=0.1,
)  # fmt: skip
QUICK = Sizes(
    upload=64 * MiB, chunk=8 * MiB, parallel_uploads=8, parallel_size=4 * MiB, creates=200, create_connections=4,
    small_files=100, small_size=64 * 1024, large=128 * MiB, download=64 * MiB, subscribers=20, event_piece=4 * MiB,
    event_pieces=4, event_gap=0.05,
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    unit: str
    better: str  # "higher" or "lower"


@dataclass
class Context:
    sizes: Sizes
    data_fd: int

    def body(self, count: int, offset: int = 0) -> Body:
        return Body(self.data_fd, offset, count)


Outcome = float | NotPossible


class Scenario:
    key: ClassVar[str]
    figures: ClassVar[tuple[Figure, ...]]
    fresh_server_each_run: ClassVar[bool] = False  # a new server process for every run (memory figures)
    stores: ClassVar[tuple[str, ...]] = ("file",)  # the servers of these stores take part (ServerKind.store)
    clear_between_runs: ClassVar[bool] = True

    def describe(self, sizes: Sizes) -> str:
        raise NotImplementedError

    def unable(self, kind: ServerKind) -> str | None:
        """Why `kind` cannot take part at all (its figures are n/a), or None."""
        return None

    def server_args(self, kind: ServerKind, sizes: Sizes) -> list[str]:
        return []

    def prepare(self, context: Context, server: RunningServer) -> None:
        """Untimed set-up once per server, before its runs."""

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        raise NotImplementedError


def mib_per_second(count: int, seconds: float) -> float:
    return count / MiB / seconds


class SinglePatch(Scenario):
    key = "single"
    stores = ("file", "s3")
    figures = (
        Figure("single_patch", "one upload, one PATCH", "MiB/s", "higher"),
        Figure("single_patch_cpu", "server CPU time for it", "s/GiB", "lower"),
    )

    def describe(self, sizes: Sizes) -> str:
        return f"one {sizes.upload // MiB} MiB upload in one PATCH; also the server's CPU time (all threads) per GiB"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        size = context.sizes.upload
        with TusClient(server.endpoint) as client:
            path = client.create(size)
            cpu_before = cpu_seconds(server.pid)
            started = time.perf_counter()
            offset = client.patch(path, 0, context.body(size))
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu_before
        if offset != size:
            raise BenchError(f"the PATCH ended at offset {offset}, not {size}")
        return {"single_patch": mib_per_second(size, elapsed), "single_patch_cpu": cpu / (size / GiB)}


class SocketUploads(Scenario):
    key = "socket"
    figures = (
        Figure("socket_upload", "one upload over the upload socket", "MiB/s", "higher"),
        Figure("socket_upload_cpu", "server CPU time for it", "s/GiB", "lower"),
    )

    def describe(self, sizes: Sizes) -> str:
        return (
            f"one {sizes.upload // MiB} MiB upload over `B upload` (tusd_py's WebSocket) in frames of the server's "
            "largest size, within its window; from the create message's answer to `completed`; also server CPU"
        )

    def unable(self, kind: ServerKind) -> str | None:
        return None if kind is TUSD_PY else "no upload socket"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        size = context.sizes.upload
        upload = SocketUpload(server.endpoint, context.body(size))
        try:
            cpu_before = cpu_seconds(server.pid)
            started = time.perf_counter()
            upload.run()
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            upload.close()
        return {"socket_upload": mib_per_second(size, elapsed), "socket_upload_cpu": cpu / (size / GiB)}


class ChunkedPatches(Scenario):
    key = "chunked"
    stores = ("file", "s3")
    figures = (Figure("chunked_patch", "one upload, 8 MiB PATCHes", "MiB/s", "higher"),)

    def describe(self, sizes: Sizes) -> str:
        return f"one {sizes.upload // MiB} MiB upload in PATCHes of {sizes.chunk // MiB} MiB on one connection"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        size = context.sizes.upload
        with TusClient(server.endpoint) as client:
            started = time.perf_counter()
            client.upload(context.body(size), chunk_size=context.sizes.chunk)
            elapsed = time.perf_counter() - started
        return {"chunked_patch": mib_per_second(size, elapsed)}


def run_together(workers: list[Callable[[], None]]) -> float:
    """Start the workers in threads at the same instant; seconds until the last one ends. Errors propagate."""
    barrier = threading.Barrier(len(workers) + 1)
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(work,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError(f"{len(errors)} of {len(workers)} clients failed, first: {errors[0]}")
    return elapsed


class ParallelUploads(Scenario):
    key = "parallel"
    figures = (Figure("parallel_uploads", "32 uploads at once (total)", "MiB/s", "higher"),)

    def describe(self, sizes: Sizes) -> str:
        return f"{sizes.parallel_uploads} uploads of {sizes.parallel_size // MiB} MiB at once, one PATCH each"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        sizes = context.sizes
        clients = [TusClient(server.endpoint) for _ in range(sizes.parallel_uploads)]
        try:
            paths = [client.create(sizes.parallel_size) for client in clients]

            def worker(index: int) -> Callable[[], None]:
                body = context.body(sizes.parallel_size, offset=index * sizes.parallel_size)
                return lambda: _expect_offset(clients[index].patch(paths[index], 0, body), body.count)

            elapsed = run_together([worker(i) for i in range(len(clients))])
        finally:
            for client in clients:
                client.close()
        return {"parallel_uploads": mib_per_second(sizes.parallel_uploads * sizes.parallel_size, elapsed)}


def _expect_offset(offset: int, expected: int) -> None:
    if offset != expected:
        raise BenchError(f"the PATCH ended at offset {offset}, not {expected}")


class Creations(Scenario):
    """Runs first and keeps its uploads between runs. ext4 without a journal (this machine's) will not reuse an
    inode from 1 s to 60 s after its file was deleted (up to 300 s while its inode table block is unwritten),
    and each file created meanwhile in that block group first steps over every such inode: creating an empty
    file took 27 us fresh, 388 us 30 s after 8,000 files were deleted, 35 us 70 s after. Cleared between runs,
    the figure measured the previous run's deletions, for every server alike."""

    key = "creates"
    stores = ("file", "s3")
    figures = (Figure("creates", "uploads created (empty POSTs)", "per s", "higher"),)
    clear_between_runs = False

    def describe(self, sizes: Sizes) -> str:
        return f"{sizes.creates} POSTs without a body over {sizes.create_connections} keep-alive connections"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        sizes = context.sizes
        each = sizes.creates // sizes.create_connections
        clients = [TusClient(server.endpoint) for _ in range(sizes.create_connections)]
        try:
            for client in clients:
                client.create(MiB)  # warm the connection and the route

            def worker(client: TusClient) -> Callable[[], None]:
                def create_many() -> None:
                    for _ in range(each):
                        client.create(MiB)

                return create_many

            elapsed = run_together([worker(client) for client in clients])
        finally:
            for client in clients:
                client.close()
        return {"creates": each * len(clients) / elapsed}


def _in_parallel(clients: list[TusClient], total: int, one: Callable[[TusClient], object]) -> float:
    """`total` calls of `one`, shared out over the clients' connections at once; files per second."""
    each = total // len(clients)

    def worker(client: TusClient) -> Callable[[], None]:
        def many() -> None:
            for _ in range(each):
                one(client)

        return many

    return each * len(clients) / run_together([worker(client) for client in clients])


class SmallFiles(Scenario):
    """Many small files, each its own upload, over keep-alive connections: in one request (creation-with-upload),
    as a POST and a PATCH, and empty creations; driven by wrk (benchmarks/tus.lua) and by the Python client.
    Keeps its uploads between runs, as `Creations` does, and for the same reason."""

    key = "small"
    figures = (
        Figure("small_upload_wrk", "64 KiB files, one request each (wrk)", "per s", "higher"),
        Figure("small_upload_cpu", "server CPU per file, one request each (wrk)", "ms", "lower"),
        Figure("small_patch_wrk", "64 KiB files, POST then PATCH (wrk)", "per s", "higher"),
        Figure("creates_wrk", "uploads created, empty POSTs (wrk)", "per s", "higher"),
        Figure("small_upload_py", "64 KiB files, one request each (Python client)", "per s", "higher"),
        Figure("small_patch_py", "64 KiB files, POST then PATCH (Python client)", "per s", "higher"),
    )
    clear_between_runs = False

    def describe(self, sizes: Sizes) -> str:
        return (
            f"{sizes.small_files} files of {sizes.small_size // 1024} KiB over {sizes.create_connections} keep-alive "
            "connections: one POST with the body (creation-with-upload), a POST then a PATCH, and empty POSTs; "
            "by wrk (one thread) and by the Python client (a thread per connection)"
        )

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        sizes = context.sizes
        count, size, connections = sizes.small_files, sizes.small_size, sizes.create_connections
        outcome: dict[str, Outcome] = {}
        for key, mode in (("small_upload_wrk", "upload"), ("small_patch_wrk", "patch"), ("creates_wrk", "create")):
            try:
                cpu_before = cpu_seconds(server.pid)
                outcome[key] = run_wrk(server.endpoint, mode, count, size, connections).per_second
                if mode == "upload":
                    outcome["small_upload_cpu"] = (cpu_seconds(server.pid) - cpu_before) / count * 1000
            except NotPossible as reason:
                outcome[key] = reason
                if mode == "upload":
                    outcome["small_upload_cpu"] = reason
        body = context.body(size)
        clients = [TusClient(server.endpoint) for _ in range(connections)]
        try:
            for client in clients:
                client.create(size)  # warm the connection and the route
            outcome["small_upload_py"] = _in_parallel(clients, count, lambda client: client.create_with_body(body))
            outcome["small_patch_py"] = _in_parallel(
                clients, count, lambda client: _expect_offset(client.patch(client.create(size), 0, body), size)
            )
        finally:
            for client in clients:
                client.close()
        return outcome


class PeakMemory(Scenario):
    key = "rss"
    stores = ("file", "s3")
    figures = (Figure("peak_rss", "peak RSS during a large upload", "MB", "lower"),)
    fresh_server_each_run = True

    def describe(self, sizes: Sizes) -> str:
        return f"peak resident memory of a freshly started server taking {sizes.large // MiB} MiB in one PATCH"

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        size = context.sizes.large
        exact = reset_peak(server.pid)
        with TusClient(server.endpoint) as client, RssPoller(server.pid) as poller:
            path = client.create(size)
            _expect_offset(client.patch(path, 0, context.body(size)), size)
        peak_kib = max(poller.peak_kib, status_kib(server.pid, "VmHWM") if exact else 0)
        return {"peak_rss": peak_kib * 1024 / 1e6}


DOWNLOAD_MARGIN = MiB


class Downloads(Scenario):
    key = "download"
    stores = ("file", "s3")
    figures = (
        Figure("download_full", "download, whole file", "MiB/s", "higher"),
        Figure("download_range", "download, one Range", "MiB/s", "higher"),
    )
    clear_between_runs = False

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}

    def describe(self, sizes: Sizes) -> str:
        return (
            f"GET of a finished {sizes.download // MiB} MiB upload, whole and with Range bytes="
            f"{DOWNLOAD_MARGIN}-{sizes.download - DOWNLOAD_MARGIN - 1}"
        )

    def prepare(self, context: Context, server: RunningServer) -> None:
        with TusClient(server.endpoint) as client:
            self._paths[server.kind.key] = client.upload(context.body(context.sizes.download))

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        size = context.sizes.download
        path = self._paths[server.kind.key]
        outcome: dict[str, Outcome] = {}
        with TusClient(server.endpoint) as client:
            try:
                started = time.perf_counter()
                status, received = client.download(path)
                elapsed = time.perf_counter() - started
            except BenchError as error:
                raise NotPossible(f"no download: {error}") from None
            if status != 200 or received != size:
                raise BenchError(f"GET answered {status} with {received} of {size} bytes")
            outcome["download_full"] = mib_per_second(received, elapsed)
            first, last = DOWNLOAD_MARGIN, size - DOWNLOAD_MARGIN - 1
            started = time.perf_counter()
            status, received = client.download(path, (first, last))
            elapsed = time.perf_counter() - started
        if status == 200:
            outcome["download_range"] = NotPossible("ignores Range: answers 200 with the whole file")
        elif received != last - first + 1:
            raise BenchError(f"the range answer carried {received} bytes, not {last - first + 1}")
        else:
            outcome["download_range"] = mib_per_second(received, elapsed)
        return outcome


class EventLatency(Scenario):
    key = "events"
    figures = (
        Figure("event_latency_p50", "event latency p50", "ms", "lower"),
        Figure("event_latency_p99", "event latency p99", "ms", "lower"),
    )

    def describe(self, sizes: Sizes) -> str:
        return (
            f"{sizes.subscribers} WebSocket subscribers on one upload's events; one PATCH sends "
            f"{sizes.event_pieces} pieces of {sizes.event_piece // MiB} MiB {sizes.event_gap * 1000:.0f} ms apart; "
            "latency = the piece's last 64 KiB handed to the socket → a progress event covering it arrives"
        )

    def unable(self, kind: ServerKind) -> str | None:
        return None if kind is TUSD_PY else "no live progress events"

    def server_args(self, kind: ServerKind, sizes: Sizes) -> list[str]:
        room = str(sizes.subscribers + 100)
        return [
            "--progress-interval", "0", "--max-event-connections", room, "--max-event-connections-per-user", room,
        ]  # fmt: skip

    def measure(self, context: Context, server: RunningServer) -> dict[str, Outcome]:
        sizes = context.sizes
        length = sizes.event_piece * sizes.event_pieces
        with TusClient(server.endpoint) as client:
            path = client.create(length)
            url = f"ws://127.0.0.1:{server.port}{path}/events"
            crowd = SubscriberCrowd(url, sizes.subscribers)
            try:
                crowd.wait_ready(timeout=120)
                client.start_patch(path, 0, length)
                sent_at = []
                for index in range(sizes.event_pieces):
                    piece = context.body(sizes.event_piece, offset=index * sizes.event_piece)
                    # Timed just before the piece's last bytes go to the socket: no event can cover the piece
                    # before that, while a time taken after the send may come late (this thread descheduled).
                    cut = piece.count - LAST_BYTES
                    client.send_piece(Body(piece.fd, piece.offset, cut))
                    sent_at.append(time.monotonic_ns())
                    client.send_piece(Body(piece.fd, piece.offset + cut, LAST_BYTES))
                    time.sleep(sizes.event_gap)
                _expect_offset(client.finish_patch(), length)
                arrivals = crowd.collect(timeout=120)
            finally:
                crowd.stop()
        piece_ends = [(index + 1) * sizes.event_piece for index in range(sizes.event_pieces)]
        latencies = latencies_ms(arrivals, piece_ends, sent_at)
        return {
            "event_latency_p50": percentile(latencies, 50),
            "event_latency_p99": percentile(latencies, 99),
        }


ALL_SCENARIOS: tuple[type[Scenario], ...] = (
    Creations,  # first: before any scenario has deleted files (see its docstring)
    SmallFiles,  # also before any deletions
    SinglePatch,
    SocketUploads,  # beside the one-PATCH figure it is compared with
    ChunkedPatches,
    ParallelUploads,
    PeakMemory,
    Downloads,
    EventLatency,
)
