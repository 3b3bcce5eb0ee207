"""`tusd-py upload FILE…`: resumable uploads from a terminal, with progress bars, or quiet URLs, or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from tusd_py.client.errors import ClientError, ExitCode, TransientError, UsageError
from tusd_py.client.file_source import CHECKSUM_ALGORITHMS
from tusd_py.client.progress import SpeedMeter, eta_seconds, format_bytes, format_eta, format_speed
from tusd_py.client.retry import RetryPolicy
from tusd_py.client.uploader import (
    DEFAULT_CHUNK_SIZE,
    TRANSPORTS,
    Uploader,
    UploadListener,
    UploadOptions,
    UploadResult,
)
from tusd_py.client.url_store import URLStore, default_store_path
from tusd_py.units import parse_duration, parse_size

ENDPOINT_ENV = "TUSD_PY_ENDPOINT"
API_KEY_ENV = "TUSD_PY_API_KEY"
TOKEN_ENV = "TUSD_PY_TOKEN"
STORE_ENV = "TUSD_PY_STORE"


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `upload` and `watch` share: where the server is and how to authenticate."""
    parser.add_argument(
        "--endpoint", metavar="URL", default=os.environ.get(ENDPOINT_ENV),
        help=f"the tus creation URL, e.g. http://127.0.0.1:1080/files/ (env {ENDPOINT_ENV})",
    )  # fmt: skip
    parser.add_argument(
        "--api-key", metavar="KEY", default=os.environ.get(API_KEY_ENV),
        help=f"send this API key as X-API-Key (env {API_KEY_ENV})",
    )  # fmt: skip
    parser.add_argument(
        "--token", metavar="TOKEN", default=os.environ.get(TOKEN_ENV),
        help=f"send this bearer token as Authorization: Bearer (env {TOKEN_ENV})",
    )  # fmt: skip
    parser.add_argument(
        "--header", metavar="NAME:VALUE", action="append", default=[],
        help="an extra request header; repeat for more",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable output: one JSON object a line")


def request_headers(args: argparse.Namespace) -> dict[str, str]:
    headers: dict[str, str] = {}
    if args.api_key:
        headers["X-API-Key"] = args.api_key
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    for item in args.header:
        name, colon, value = item.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"--header {item!r}: write it as NAME:VALUE")
        headers[name.strip()] = value.strip()
    return headers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", metavar="FILE", nargs="+", help="files to upload")
    add_connection_arguments(parser)
    parser.add_argument(
        "--chunk-size", metavar="SIZE", default=str(DEFAULT_CHUNK_SIZE),
        help="bytes per PATCH request, e.g. 8MiB, 512KiB (default: 8MiB)",
    )  # fmt: skip
    parser.add_argument(
        "--parallel", metavar="N", type=int, default=1,
        help="send each file as N partial uploads at once, joined by a final one (needs concatenation; default: 1)",
    )  # fmt: skip
    parser.add_argument(
        "--checksum", metavar="ALGORITHM", choices=CHECKSUM_ALGORITHMS,
        help=f"send Upload-Checksum with every chunk: {', '.join(CHECKSUM_ALGORITHMS)} (needs the checksum extension)",
    )  # fmt: skip
    parser.add_argument(
        "--metadata", metavar="KEY=VALUE", action="append", default=[],
        help="upload metadata; repeat for more (filename and filetype are sent unless given here)",
    )  # fmt: skip
    parser.add_argument(
        "--batch", metavar="NAME",
        help="put the files in one batch (metadata batch=NAME and batch_total=the number of files)",
    )  # fmt: skip
    parser.add_argument(
        "--store", metavar="PATH", type=Path, default=Path(os.environ.get(STORE_ENV) or default_store_path()),
        help=f"the file recording unfinished uploads, for resuming (default: {default_store_path()}; env {STORE_ENV})",
    )  # fmt: skip
    parser.add_argument(
        "--retries", metavar="N", type=int, default=RetryPolicy().retries,
        help="retries of a failing request, with exponential back-off; the count starts again whenever an upload"
        f" moves forward (default: {RetryPolicy().retries})",
    )  # fmt: skip
    parser.add_argument("--timeout", metavar="DURATION", default="60s", help="network timeout (default: 60s)")
    parser.add_argument(
        "--limit-rate", metavar="SIZE", help="at most SIZE bytes per second for all transfers together, e.g. 1MiB"
    )
    parser.add_argument("--jobs", metavar="N", type=int, default=1, help="files uploaded at once (default: 1)")
    parser.add_argument(
        "--transport", choices=TRANSPORTS, default="http",
        help="how the bytes go: http (PATCH requests, any tus server) or websocket (tusd_py's upload socket,"
        " <endpoint>upload); resume, retries and exit codes are the same (default: http)",
    )  # fmt: skip
    parser.add_argument(
        "--protocol",
        choices=["tus", "ietf"],
        default="tus",
        help="tus 1.0 (default), or ietf: the IETF draft Resumable Uploads for HTTP at its current interop version",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress: print each uploaded file's URL, errors on stderr"
    )


def options_from(args: argparse.Namespace) -> UploadOptions:
    """The uploader's options from the flags; UsageError says which flag is wrong."""
    if not args.endpoint:
        raise UsageError(f"--endpoint is required (or set {ENDPOINT_ENV})")
    if not args.endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint {args.endpoint!r}: give an http:// or https:// URL")
    if args.parallel < 1 or args.jobs < 1 or args.retries < 0:
        raise UsageError("--parallel and --jobs must be at least 1, --retries at least 0")
    if args.protocol == "ietf" and (args.parallel > 1 or args.checksum):
        raise UsageError("--protocol ietf takes neither --parallel above 1 nor --checksum")
    if args.quiet and args.json:
        raise UsageError("--quiet and --json exclude each other")
    if args.transport == "websocket" and args.parallel > 1:
        raise UsageError("--parallel sends partial uploads over HTTP: it needs --transport http")
    metadata = {}
    for item in args.metadata:
        key, equals, value = item.partition("=")
        if not equals or not key or " " in key or "," in key:
            raise UsageError(f"--metadata {item!r}: write it as KEY=VALUE (no spaces or commas in KEY)")
        metadata[key] = value
    try:
        chunk_size = parse_size(args.chunk_size)
        rate_limit = parse_size(args.limit_rate) if args.limit_rate else None
        timeout = parse_duration(args.timeout)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if chunk_size < 1 or (rate_limit is not None and rate_limit < 1):
        raise UsageError("--chunk-size and --limit-rate must be at least 1 byte")
    return UploadOptions(
        endpoint=args.endpoint,
        chunk_size=chunk_size,
        parallel=args.parallel,
        checksum=args.checksum,
        metadata=metadata,
        headers=request_headers(args),
        retry=RetryPolicy(retries=args.retries),
        rate_limit=rate_limit,
        timeout=timeout,
        transport=args.transport,
        protocol=args.protocol,
    )


def readable_files(names: Sequence[str]) -> list[Path]:
    """The files, each once, in order; UsageError for one that is missing, not a file or unreadable."""
    files: list[Path] = []
    seen: set[Path] = set()
    for name in names:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{name}: no such file" if not path.exists() else f"{name}: not a regular file")
        if not os.access(path, os.R_OK):
            raise UsageError(f"{name}: not readable")
        if path.resolve() not in seen:
            seen.add(path.resolve())
            files.append(path)
    return files


# -- what the user sees --------------------------------------------------------------------------------------


class Report(UploadListener):
    """Collects results; subclasses show them."""

    def __init__(self) -> None:
        self.results: dict[Path, UploadResult] = {}

    def finished(self, result: UploadResult) -> None:
        self.results[result.path] = result
        self.show(result)

    def show(self, result: UploadResult) -> None: ...

    def problem(self, message: str) -> None:
        print(f"tusd-py upload: {message}", file=sys.stderr, flush=True)

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc_info: object) -> None: ...


class JsonReport(Report):
    """One JSON object a line on stdout, one per file (see docs/cli.md); retries and notices on stderr."""

    def show(self, result: UploadResult) -> None:
        print(json.dumps(result.as_dict()), flush=True)

    def retrying(self, path: Path | None, error: TransientError, wait: float) -> None:
        self.problem(f"{f'{path}: ' if path else ''}{error.message}; retrying in {wait:.1f}s")

    def notice(self, path: Path, message: str) -> None:
        self.problem(f"{path}: {message}")


class QuietReport(Report):
    """Only the URL of each uploaded file on stdout; failures on stderr."""

    def show(self, result: UploadResult) -> None:
        if result.ok:
            print(result.url, flush=True)
        elif result.error is not None:
            self.problem(f"{result.path}: {result.error.message}")


class ProgressReport(Report):
    """A bar per file and one for all of them, with speed (moving average) and ETA; a line per finished file."""

    def __init__(self, files: list[Path], sizes: dict[Path, int]) -> None:
        super().__init__()
        self.console = Console(highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            TextColumn("{task.fields[speed]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=self.console,
        )
        self.sizes = sizes
        self.positions = dict.fromkeys(files, 0)
        self.tasks: dict[Path, TaskID] = {}
        self.meters: dict[Path, SpeedMeter] = {}
        self.total_meter = SpeedMeter()
        self.total: TaskID | None = None
        if len(files) > 1:
            self.total = self.progress.add_task("total", total=sum(sizes.values()), speed="", eta="")

    def __enter__(self) -> Report:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def say(self, text: str) -> None:
        self.progress.console.print(text, soft_wrap=True)  # a URL stays whole on one line, to copy or to grep

    def problem(self, message: str) -> None:
        self.say(f"[red]{escape(message)}[/red]")

    def started(self, path: Path, size: int, position: int, url: str, resumed: bool) -> None:
        self.sizes[path] = size
        self.meters[path] = SpeedMeter()
        self.tasks[path] = self.progress.add_task(escape(path.name), total=size or 1, speed="", eta="")
        where = f" (resuming at {format_bytes(position)})" if resumed else ""
        self.say(f"{escape(str(path))} → {escape(url)}{where}")
        self.advanced(path, position)

    def advanced(self, path: Path, position: int) -> None:
        meter = self.meters[path]
        meter.record(position)
        speed = meter.bytes_per_second()
        eta = eta_seconds(self.sizes[path] - position, speed)
        self.progress.update(self.tasks[path], completed=position, speed=format_speed(speed), eta=format_eta(eta))
        self.positions[path] = position
        self._update_total()

    def _update_total(self) -> None:
        if self.total is None:
            return
        position = sum(self.positions.values())
        self.total_meter.record(position)
        speed = self.total_meter.bytes_per_second()
        eta = eta_seconds(sum(self.sizes.values()) - position, speed)
        self.progress.update(self.total, completed=position, speed=format_speed(speed), eta=format_eta(eta))

    def retrying(self, path: Path | None, error: TransientError, wait: float) -> None:
        about = f"{path.name}: " if path is not None else ""
        self.say(f"[yellow]{escape(about + error.message)}; retrying in {wait:.1f}s[/yellow]")

    def notice(self, path: Path, message: str) -> None:
        self.say(f"[yellow]{escape(path.name)}: {escape(message)}[/yellow]")

    def show(self, result: UploadResult) -> None:
        task = self.tasks.get(result.path)
        if result.ok:
            if task is not None:
                self.progress.update(task, completed=result.size or 1, speed="done", eta="0s")
            self.positions[result.path] = result.size
            self._update_total()
            self.say(f"[green]✓[/green] {escape(str(result.path))}  {escape(result.url or '')}")
        elif result.error is not None:
            self.say(f"[red]✗ {escape(str(result.path))}: {escape(result.error.message)}[/red]")


# -- running it --------------------------------------------------------------------------------------------------


def exit_code_of(results: Sequence[UploadResult]) -> ExitCode:
    """0 when every file went up; otherwise the code of the gravest failure: 3, then 4, then 2, then 1."""
    codes = {result.error.exit_code for result in results if result.error is not None}
    for code in (ExitCode.UNREACHABLE, ExitCode.UNSUPPORTED, ExitCode.USAGE, ExitCode.FAILED):
        if code in codes:
            return code
    return ExitCode.OK if all(result.ok for result in results) else ExitCode.FAILED


async def upload_all(
    files: list[Path], options: UploadOptions, store: URLStore, report: Report, batch: str | None, jobs: int
) -> None:
    extra = {"batch": batch, "batch_total": str(len(files))} if batch else {}
    limit = asyncio.Semaphore(jobs)
    async with Uploader(options, store=store, listener=report) as uploader:
        try:
            await uploader.check_server()
        except ClientError as error:
            for path in files:
                report.finished(UploadResult(path, path.stat().st_size, status="failed", error=error))
            return

        async def one(path: Path) -> None:
            async with limit:
                await uploader.upload(path, extra)

        await asyncio.gather(*(one(path) for path in files))


async def run_upload(args: argparse.Namespace, files: list[Path], options: UploadOptions) -> int:
    """Upload; on SIGINT or SIGTERM stop at once (the store already knows every started upload) and say so."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    caught: list[signal.Signals] = []

    def stop(signum: signal.Signals) -> None:
        caught.append(signum)
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    sizes = {path: path.stat().st_size for path in files}
    report: Report = JsonReport() if args.json else QuietReport() if args.quiet else ProgressReport(files, dict(sizes))
    try:
        with report:
            await upload_all(files, options, URLStore(args.store), report, args.batch, args.jobs)
    except asyncio.CancelledError:
        if not caught:
            raise
        for path in files:
            if path not in report.results:
                report.finished(UploadResult(path, sizes[path], status="interrupted"))
        unfinished = sum(1 for result in report.results.values() if not result.ok)
        report.problem(f"interrupted: {unfinished} file(s) unfinished; run the same command again to resume")
        return ExitCode.INTERRUPTED if caught[0] == signal.SIGINT else ExitCode.TERMINATED
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return exit_code_of([report.results[path] for path in files])


def upload(args: argparse.Namespace) -> int:
    try:
        options = options_from(args)
        files = readable_files(args.files)
    except UsageError as error:
        print(f"tusd-py upload: {error.message}", file=sys.stderr)
        return ExitCode.USAGE
    return asyncio.run(run_upload(args, files, options))
