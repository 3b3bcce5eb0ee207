"""wrk, a load generator in C, driving tus requests from benchmarks/tus.lua: many small files per second.

wrk runs with one thread and N keep-alive connections; the script counts files (not requests) and prints one
`tus-result` line when the last one is done. wrk's own duration is always the whole `-d`, so once that line is
read wrk is stopped with SIGINT. The Python client (benchmarks/clients.py) is the other driver of these
scenarios: two clients, so that neither client's limits are taken for a server's."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clients import BenchError, NotPossible

SCRIPT = Path(__file__).with_name("tus.lua")
MODES = ("create", "upload", "patch")


@dataclass(frozen=True)
class WrkResult:
    files: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.files / self.seconds


def wrk_missing() -> str | None:
    return None if shutil.which("wrk") else "wrk is not installed (make bench installs it when run as root)"


def run_wrk(endpoint: str, mode: str, count: int, size: int, connections: int, timeout: float = 300.0) -> WrkResult:
    """`count` files of `size` bytes (`mode` as in tus.lua) over `connections` connections."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    missing = wrk_missing()
    if missing is not None:
        raise NotPossible(missing)
    base_path = "/" + endpoint.split("/", 3)[3]
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{int(timeout)}s", "--timeout", "30s", "-s", str(SCRIPT),
        endpoint, "--", mode, str(count), str(size), base_path,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    line, seen = "", []
    try:
        for line in process.stdout:
            if line.startswith("tus-result "):
                break
            seen.append(line)
        else:
            raise BenchError(f"wrk ended without a result: {''.join(seen)[-500:]}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    result = json.loads(line.split(" ", 1)[1])
    if result["errors"]:
        raise BenchError(f"{result['errors']} failed requests under wrk, first: {result['first_error']}")
    if result["files"] != count:
        raise BenchError(f"wrk finished {result['files']} of {count} files")
    return WrkResult(result["files"], result["seconds"])
