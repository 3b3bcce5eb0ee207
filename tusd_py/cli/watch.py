"""`tusd-py watch ID` / `--batch NAME`: an upload's or a batch's live events in the terminal, until the stream ends."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tusd_py.cli.upload import add_connection_arguments, request_headers
from tusd_py.client.errors import ExitCode, UsageError
from tusd_py.client.progress import format_eta, format_speed
from tusd_py.client.retry import RetryPolicy
from tusd_py.units import parse_duration

BAD_ENDINGS = {"terminated", "expired", "failed"}
WAIT_POLL_SECONDS = 0.5  # how often a batch that has no file yet is asked for again
# Close codes after which connecting again cannot help: refused, unknown upload, bad request, unauthenticated,
# forbidden.
REFUSALS = {
    1008: "refused by policy",
    4400: "bad request",
    4401: "not authenticated",
    4403: "forbidden",
    4404: "not found",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("upload", metavar="ID|URL", nargs="?", help="an upload id (with --endpoint) or an upload URL")
    parser.add_argument("--batch", metavar="NAME", help="follow a batch instead of one upload (needs --endpoint)")
    add_connection_arguments(parser)
    parser.add_argument(
        "--retries", metavar="N", type=int, default=RetryPolicy().retries,
        help=f"reconnections when the stream drops or the server is away (default: {RetryPolicy().retries})",
    )  # fmt: skip
    parser.add_argument(
        "--wait", metavar="DURATION", default="60s",
        help="with --batch: how long to wait for the batch's first file when it has none yet (default: 60s; 0: not)",
    )  # fmt: skip


def _websocket_scheme(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise UsageError(f"{url!r}: give an http:// or https:// URL")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def stream_url(args: argparse.Namespace) -> str:
    """The WebSocket URL of the events of the upload or the batch the arguments name."""
    upload: str | None = args.upload
    batch: str | None = args.batch
    if (upload is None) == (batch is None):
        raise UsageError("name an upload (ID or URL) or --batch NAME, not both")
    if upload is not None and "://" in upload:
        return _websocket_scheme(upload.rstrip("/") + "/events")
    if not args.endpoint:
        raise UsageError("--endpoint is required with an upload id or --batch")
    base = args.endpoint if args.endpoint.endswith("/") else args.endpoint + "/"
    if batch is not None:
        return _websocket_scheme(f"{base}batches/{quote(batch, safe='')}/events")
    return _websocket_scheme(f"{base}{quote(str(upload), safe='')}/events")


def describe(event: dict[str, Any]) -> str:
    """One line for people: time, type, percentage, speed, ETA, stage, and the event's own message."""
    kind = str(event.get("type", "?"))
    if kind == "error":
        return f"error: {event.get('error_code')}: {event.get('error_message')}"
    time_of_day = str(event.get("timestamp") or "")[11:19]
    fields = [time_of_day, f"{kind:<15}"]
    percentage = event.get("percentage")
    fields.append(f"{percentage:6.2f}%" if isinstance(percentage, int | float) else "      –")
    if kind in ("progress", "batch-progress") or event.get("bytes_per_second") is not None:
        fields.append(f"{format_speed(event.get('bytes_per_second')):>12}")
        fields.append(f"ETA {format_eta(event.get('eta_seconds')):>6}")
    if event.get("stage"):
        fields.append(f"stage {event['stage']}")
    name = event.get("filename") or event.get("upload_id") or (f"batch {event['batch']}" if event.get("batch") else "")
    if name:
        fields.append(str(name))
    if event.get("message"):
        fields.append(f"— {event['message']}")
    if event.get("error_message"):
        fields.append(f"({event.get('error_code')}: {event['error_message']})")
    return "  ".join(fields)


def outcome_of(event: dict[str, Any] | None) -> ExitCode:
    """How the stream's last event ends the command: bad endings and batches with failed files are 1."""
    if event is None:
        return ExitCode.FAILED
    kind = event.get("type")
    if kind in BAD_ENDINGS:
        return ExitCode.FAILED
    if kind == "batch-completed" and event.get("failed"):
        return ExitCode.FAILED
    return ExitCode.OK


@dataclass
class Watch:
    """Follows one stream and reconnects when it drops; the server decides when the stream ends (close 1000)."""

    url: str
    headers: dict[str, str]
    as_json: bool
    policy: RetryPolicy
    last: dict[str, Any] | None = None
    last_seq: int = -1
    wait_for_start: float = 0.0  # how long an unknown stream (a batch with no file yet) is asked for again

    def still_waiting(self, code: int | None, deadline: float) -> bool:
        """A stream that does not exist yet, and time left to wait for it."""
        return code == 4404 and self.last is None and asyncio.get_running_loop().time() < deadline

    def show(self, text: str, event: dict[str, Any]) -> None:
        print(text if self.as_json else describe(event), flush=True)

    def take(self, text: str) -> None:
        event = json.loads(text)
        if not isinstance(event, dict):
            return
        seq = event.get("seq")
        if isinstance(seq, int):
            # After a reconnect the stream starts again with its latest event: skip what was shown already.
            if seq <= self.last_seq and seq != 0:
                return
            self.last_seq = max(self.last_seq, seq)
        if event.get("type") != "error":
            self.last = event
        self.show(text, event)

    async def run(self) -> ExitCode:
        failures = 0
        deadline = asyncio.get_running_loop().time() + self.wait_for_start
        waiting = False
        while True:
            try:
                async with connect(self.url, additional_headers=self.headers, open_timeout=10) as websocket:
                    failures = 0
                    try:
                        async for message in websocket:
                            self.take(message if isinstance(message, str) else message.decode())
                    except ConnectionClosed:
                        pass
                    code = websocket.close_code
                    reason = websocket.close_reason or ""
            except InvalidStatus as error:
                status = error.response.status_code
                self.problem(f"the server refused the stream: HTTP {status}")
                if status in (401, 403, 404, 410):
                    return ExitCode.FAILED
                code, reason = None, f"HTTP {status}"
            except (OSError, InvalidHandshake, TimeoutError) as error:
                code, reason = None, str(error) or type(error).__name__
            if code == 1000:
                return outcome_of(self.last)
            if self.still_waiting(code, deadline):
                if not waiting:
                    self.problem(f"nothing to follow yet ({reason}); waiting up to {self.wait_for_start:g}s")
                    waiting = True
                await asyncio.sleep(WAIT_POLL_SECONDS)
                continue
            if code in REFUSALS:
                self.problem(f"the server closed the stream: {REFUSALS[code]} ({code} {reason})".rstrip())
                return ExitCode.FAILED
            failures += 1
            if failures > self.policy.retries:
                self.problem(f"gave up after {failures} attempts: {reason or f'closed with {code}'}")
                return ExitCode.UNREACHABLE
            wait = self.policy.delay(failures)
            self.problem(f"stream lost ({reason or code}); reconnecting in {wait:.1f}s")
            await asyncio.sleep(wait)

    def problem(self, message: str) -> None:
        print(f"tusd-py watch: {message}", file=sys.stderr, flush=True)


async def run_watch(follow: Watch) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        return await follow.run()
    except asyncio.CancelledError:
        return ExitCode.INTERRUPTED
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def watch(args: argparse.Namespace) -> int:
    try:
        url = stream_url(args)
        headers = request_headers(args)
        if args.retries < 0:
            raise UsageError("--retries must be at least 0")
        wait = parse_duration(args.wait) if args.batch is not None else 0.0
        if args.batch is not None and wait == 0:
            url += "?wait=0"  # the server itself waits for a batch's first file unless told not to
    except ValueError as error:
        print(f"tusd-py watch: --wait: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except UsageError as error:
        print(f"tusd-py watch: {error.message}", file=sys.stderr)
        return ExitCode.USAGE
    follow = Watch(url, headers, args.json, RetryPolicy(retries=args.retries), wait_for_start=wait)
    return asyncio.run(run_watch(follow))
