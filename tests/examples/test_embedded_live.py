"""The Django, Litestar and FastAPI (owners from the app's dependency) examples under a real uvicorn.

Each: a real tus client (tuspy) uploads through the mount; the Location carries the mount's prefix; the bytes
downloaded back through it match (sha256); the upload's event stream under the mount (SSE and WebSocket) tells
its story; the owner is the user the host application signed in, and nobody else gets in.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient.client import TusClient
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import free_port
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
PREFIX = "/uploads"


class Example:
    """`uvicorn <target>` run from the checkout on a free port, its uploads and logs in a test's directory."""

    def __init__(self, target: str, root: Path, env: dict[str, str] | None = None) -> None:
        self.target = target
        self.root = root
        self.upload_dir = root / "uploads"
        self.upload_dir.mkdir()
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "TUSD_PY_UPLOAD_DIR": str(self.upload_dir), **(env or {})}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.endpoint = self.base_url + PREFIX + "/files/"
        self.log_path = root / "example.log"
        self.process: subprocess.Popen[bytes] | None = None

    def run(self, *args: str) -> str:
        """A one-off command (python -m …) in the example's environment; its output."""
        result = subprocess.run(
            [sys.executable, "-m", *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", self.target, "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                return httpx.options(self.endpoint, timeout=5).status_code == 200  # discovery needs no credentials
            except httpx.TransportError:
                return False

        wait_until(up, timeout=60, interval=0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def example(target: str, tmp_path: Path, prepare: tuple[tuple[str, ...], ...] = ()) -> Iterator[Example]:
    running = Example(target, tmp_path)
    for command in prepare:
        running.run(*command)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def upload_and_check(app: Example, tmp_path: Path, credentials: dict[str, str], owner: str | None) -> str:
    """Upload a file with tuspy, then check Location, the stored bytes, the download and the events; the URL."""
    source = tmp_path / "photo.bin"
    source.write_bytes(random.Random(str(owner)).randbytes(700_000))
    uploader = TusClient(app.endpoint, headers=credentials).uploader(str(source), chunk_size=256 * 1024)
    uploader.upload()
    url = uploader.url
    assert url is not None

    assert url.startswith(app.endpoint), url  # Location is under the mount, on the host the client used
    assert len(urlsplit(url).path) > len(PREFIX + "/files/")
    stored = StoredUpload.load(app.upload_dir, url)
    assert stored.sha256 == sha256(source.read_bytes())
    assert stored.info["TusdPy"].get("owner") == owner

    download = httpx.get(url, headers=credentials, timeout=30)
    assert download.status_code == 200, download.text
    assert sha256(download.content) == sha256(source.read_bytes())

    with httpx.stream("GET", url + "/events?since=0", headers=credentials, timeout=30) as events:
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
        body = "".join(events.iter_text())  # a finished upload's stream ends after its last event
    sent = [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]
    assert sent[0]["type"] == "created"
    assert sent[-1]["type"] == "completed"
    assert {event["upload_id"] for event in sent} == {stored.id}

    websocket_url = "ws" + url.removeprefix("http") + "/events?since=0"
    with connect(websocket_url, additional_headers=credentials, open_timeout=30) as websocket:
        received = []
        with contextlib.suppress(ConnectionClosedOK):  # the stream ends after the upload's last event
            while True:
                received.append(json.loads(websocket.recv(timeout=30)))
    assert [event["seq"] for event in received] == [event["seq"] for event in sent]
    return url


def refused(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.json()["error_code"] == "unauthenticated"


# -- Django: its ASGI application routes /uploads to tusd_py; Django's session sign-in names the owner --------------

DJANGO = ("examples.embed_django.manage",)
SET_UP = (  # one process: each start of Django costs seconds on a loaded machine
    "from django.core.management import call_command;"
    "call_command('migrate', verbosity=0);"
    "from django.contrib.auth.models import User;"
    "User.objects.create_user('alice', password='alice-password-1');"
    "User.objects.create_user('bob', password='bob-password-1')"
)


@pytest.fixture
def django_example(tmp_path: Path) -> Iterator[Example]:
    yield from example(
        "examples.embed_django.asgi:application",
        tmp_path,
        prepare=((*DJANGO, "shell", "-c", SET_UP),),
    )


def django_sign_in(app: Example, username: str, password: str) -> dict[str, str]:
    """Django's own login page, as a browser uses it: its CSRF token, then the form; the session cookie."""
    with httpx.Client(base_url=app.base_url, timeout=30) as browser:
        page = browser.get("/accounts/login/")
        assert page.status_code == 200
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        signed_in = browser.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": app.base_url + "/accounts/login/"},
        )
        assert signed_in.status_code == 302, signed_in.text
        return {"Cookie": f"sessionid={browser.cookies['sessionid']}"}


def test_django_users_own_their_uploads_under_the_django_prefix(django_example: Example, tmp_path: Path) -> None:
    alice = django_sign_in(django_example, "alice", "alice-password-1")
    bob = django_sign_in(django_example, "bob", "bob-password-1")

    home = httpx.get(django_example.base_url + "/", headers=alice, timeout=30)  # Django's own page still works
    assert home.json() == {"user": "alice", "upload_endpoint": django_example.endpoint}

    url = upload_and_check(django_example, tmp_path, alice, "alice")

    assert httpx.head(url, headers={**bob, "Tus-Resumable": "1.0.0"}, timeout=30).status_code == 403
    assert refused(httpx.post(django_example.endpoint, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1"}))
    assert refused(httpx.get(url, headers={"Cookie": "sessionid=made-up"}, timeout=30))
    assert httpx.get(django_example.base_url + "/", timeout=30).status_code == 302  # Django's login_required


# -- Litestar: tusd_py mounted as an ASGI app ------------------------------------------------------------------------


@pytest.fixture
def litestar_example(tmp_path: Path) -> Iterator[Example]:
    yield from example("examples.embed_litestar:app", tmp_path)


def test_litestar_mounts_tusd_py_with_its_urls_under_the_mount(litestar_example: Example, tmp_path: Path) -> None:
    home = httpx.get(litestar_example.base_url + "/", timeout=30)
    assert home.json() == {"upload_endpoint": litestar_example.endpoint}

    url = upload_and_check(litestar_example, tmp_path, {}, None)  # no auth: no owner

    progress = httpx.get(url + "/progress", timeout=30)
    assert progress.status_code == 200
    assert progress.json()["status"] == "completed"


# -- FastAPI: the host app's own dependency names the owner ----------------------------------------------------------


@pytest.fixture
def fastapi_example(tmp_path: Path) -> Iterator[Example]:
    yield from example("examples.embed_fastapi_auth:app", tmp_path)


def test_fastapi_owners_come_from_the_apps_own_dependency(fastapi_example: Example, tmp_path: Path) -> None:
    alice = {"Authorization": "Bearer alice-token"}
    me = httpx.get(fastapi_example.base_url + "/me", headers=alice, timeout=30)
    assert me.json() == {"user": "alice", "upload_endpoint": "/uploads/files/"}

    url = upload_and_check(fastapi_example, tmp_path, alice, "alice")

    bob = {"Authorization": "Bearer bob-token", "Tus-Resumable": "1.0.0"}
    assert httpx.head(url, headers=bob, timeout=30).status_code == 403
    listed = httpx.get(fastapi_example.endpoint, headers=bob, timeout=30).json()
    assert listed["uploads"] == []
    ops = httpx.head(url, headers={"Authorization": "Bearer ops-token", "Tus-Resumable": "1.0.0"}, timeout=30)
    assert ops.status_code == 200  # the app's admin is tusd_py's admin
    assert refused(httpx.get(url, timeout=30))
    assert httpx.get(fastapi_example.base_url + "/me", timeout=30).status_code == 401
