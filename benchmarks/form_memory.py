"""Peak server memory of a form upload, small against large: a streamed form keeps it flat.

    python -m benchmarks.form_memory [--sizes 64MiB,1GiB]

Starts `tusd-py serve` in a scratch directory, posts one multipart form per size (the body generated on the fly,
never held by the client either), and prints the server's peak resident memory (VmHWM, reset before each) and
the time each took. Sizes side by side in one run, so a loaded machine skews them alike."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

from benchmarks.procfs import reset_peak, status_kib
from tusd_py.units import parse_size

PIECE = b"\x5a" * (256 * 1024)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def form_body(size: int) -> Iterator[bytes]:
    yield b'--bench\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n'
    sent = 0
    while sent < size:
        piece = PIECE[: size - sent]
        sent += len(piece)
        yield piece
    yield b"\r\n--bench--\r\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64MiB,1GiB")
    args = parser.parse_args()
    sizes = [parse_size(text) for text in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        command = [sys.executable, "-m", "tusd_py", "serve", "--port", str(port), "--upload-dir", scratch]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/files/"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.options(url, timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"{'size':>12} {'peak RSS':>10} {'seconds':>8}")
            for size in sizes:
                reset_peak(server.pid)
                started = time.monotonic()
                response = httpx.post(
                    url + "form",
                    content=form_body(size),
                    headers={"Content-Type": "multipart/form-data; boundary=bench"},
                    timeout=600,
                )
                response.raise_for_status()
                took = time.monotonic() - started
                peak = status_kib(server.pid, "VmHWM") / 1024
                print(f"{size / 2**20:>9.0f}MiB {peak:>8.1f}MiB {took:>8.1f}")
                upload_url = response.json()["uploads"][0]["url"]
                httpx.delete(upload_url, headers={"Tus-Resumable": "1.0.0"})
        finally:
            server.terminate()
            server.wait(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
