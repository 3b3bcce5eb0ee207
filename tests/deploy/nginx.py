"""A real nginx on a free port, configured with examples/nginx/tusd_py.conf, in front of a real tusd_py."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.live_server import free_port

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "nginx" / "tusd_py.conf"
PUBLIC_PREFIX = "/uploads"

# The two lines of the example the test rewrites; the example's header says to keep them spelled so.
EXAMPLE_LISTEN = "listen 80;"
EXAMPLE_UPSTREAM = "server 127.0.0.1:1080;"

# Around the example: only what nginx needs to run in a temporary directory, in the foreground.
MAIN_CONFIG = """\
daemon off;
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    access_log {dir}/access.log;
    # Compressing text server-wide is common (Debian's nginx.conf turns gzip on): the example must opt out.
    gzip on;
    gzip_types text/plain application/json;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/tusd_py.conf;
}}
"""


def _replace_directive(text: str, old: str, new: str) -> str:
    """Replace the one line that is exactly `old` (indentation aside); comments never match."""
    replaced, count = re.subn(rf"^(\s*){re.escape(old)}$", lambda m: m.group(1) + new, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"{EXAMPLE_CONFIG} must have exactly one line {old!r} (found {count})")
    return replaced


def example_config(listen_port: int, upstream_port: int) -> str:
    """The example, listening on `listen_port` and proxying to tusd_py on `upstream_port`, unchanged otherwise."""
    text = EXAMPLE_CONFIG.read_text()
    text = _replace_directive(text, EXAMPLE_LISTEN, f"listen 127.0.0.1:{listen_port};")
    return _replace_directive(text, EXAMPLE_UPSTREAM, f"server 127.0.0.1:{upstream_port};")


class NginxProxy:
    """One nginx master process. `endpoint` is the public tus creation URL (prefix included)."""

    def __init__(self, nginx: str, directory: Path, upstream_port: int) -> None:
        self.nginx = nginx
        self.directory = directory
        self.upstream_port = upstream_port
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}{PUBLIC_PREFIX}/files/"

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "tusd_py.conf").write_text(example_config(self.port, self.upstream_port))
        # Run as root (as in a CI container), workers would become `nobody`, who cannot reach pytest's
        # private temporary directories.
        user = "user root;" if os.geteuid() == 0 else ""
        main = self.directory / "nginx.conf"
        main.write_text(MAIN_CONFIG.format(dir=self.directory, user=user))
        return main

    def start(self, timeout: float = 10.0) -> None:
        main = self.write_config()
        with open(self.directory / "stderr.log", "ab") as stderr:
            self.process = subprocess.Popen(
                [self.nginx, "-p", str(self.directory), "-c", str(main)],
                stdout=stderr,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{self.log()}")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not come up in {timeout}s:\n{self.log()}")

    def _answers(self) -> bool:
        """nginx listens and reaches tusd_py: tus discovery answers through the proxy."""
        try:
            return httpx.options(self.endpoint, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        parts = [self.directory / "stderr.log", self.directory / "error.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: nginx's fast shutdown."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
