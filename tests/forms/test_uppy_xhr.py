"""Uppy's XHR upload (@uppy/xhr-upload, from the demo's npm bundle) in headless chromium, posting several files
to `POST <base>form` from a page on another origin (a static site on loopback): each file arrives intact (sha256
by the server and by download), in its batch, and progress was reported on both sides (Uppy's
`upload-progress`, the server's event stream)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.events.clients import follow_ws, is_type
from tests.support.browser import chromium
from tests.support.live_server import LiveServer, start_live
from tests.support.programs import require_path
from tusd_py.demo import UPPY_BUNDLES

FILES = {"big.bin": 3 * 2**20, "medium.bin": 2**20, "small.txt": 200_000}
BATCH = "uppy-xhr"
PAGE = """<!doctype html>
<meta charset="utf-8">
<input type="file" multiple>
<script src="/uppy.min.js"></script>
<script>
  const { Uppy, XHRUpload } = window.Uppy;
  window.seen = { progress: {}, success: {}, errors: [], complete: null };
  const uppy = new Uppy({ meta: { batch: "%(batch)s", title: "from Uppy" } });
  uppy.use(XHRUpload, { endpoint: "%(endpoint)s", fieldName: "file", formData: true, limit: 2, bundle: %(bundle)s });
  uppy.on("upload-progress", (file, progress) => {
    (seen.progress[file.name] ||= []).push(progress.bytesUploaded);
  });
  uppy.on("upload-success", (file, response) => { seen.success[file.name] = response.body; });
  uppy.on("upload-error", (file, error) => { seen.errors.push(file.name + ": " + error); });
  uppy.on("complete", (result) => {
    seen.complete = { successful: result.successful.length, failed: result.failed.length };
  });
  document.querySelector("input").addEventListener("change", (event) => {
    for (const file of event.target.files) uppy.addFile({ name: file.name, type: file.type, data: file });
    uppy.upload();
  });
</script>
"""


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """A web site on loopback (chromium lets a loopback page reach a loopback server) serving `directory`."""
    handler = partial(QuietFiles, directory=str(directory))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as site:
        thread = threading.Thread(target=site.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{site.server_address[1]}"
        finally:
            site.shutdown()
            thread.join(timeout=10)


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live(
        tmp_path_factory.mktemp("uppy-xhr"), "--max-size", "16MiB", "--progress-interval", "100ms",
        "--write-block-size", "64KiB",
    )  # fmt: skip
    yield live
    live.stop()


@pytest.mark.parametrize("bundle", [False, True], ids=["a-request-per-file", "one-request"])
def test_uppy_xhr_upload_sends_several_files_to_the_form_route(
    server: LiveServer, tmp_path: Path, bundle: bool
) -> None:
    uppy_js, _ = UPPY_BUNDLES["uppy.min.js"]
    require_path(uppy_js, "Uppy's XHR upload is served from `npm ci --prefix tusd_py/demo` (make demo)")
    paths = []
    for name, size in FILES.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(hashlib.shake_256(name.encode()).digest(size))
    site = tmp_path / "site"  # the page and Uppy's bundle, served from another origin: the post is cross-origin
    site.mkdir()
    (site / "upload.html").write_text(
        PAGE % {"batch": BATCH, "endpoint": server.endpoint + "form", "bundle": json.dumps(bundle)}
    )
    (site / "uppy.min.js").symlink_to(uppy_js)

    with static_site(site) as origin, chromium("Uppy's XHR upload is tested in a real browser") as browser:
        page = browser.new_page()
        page.goto(f"{origin}/upload.html")
        page.set_input_files("input[type=file]", [str(path) for path in paths])
        page.wait_for_function("window.seen.complete !== null", timeout=60_000)
        seen: dict[str, Any] = page.evaluate("window.seen")

    assert seen["errors"] == [] and seen["complete"] == {"successful": len(FILES), "failed": 0}
    for path in paths:
        data = path.read_bytes()
        assert seen["progress"][path.name] and max(seen["progress"][path.name]) == len(data)  # Uppy's progress
        answer = seen["success"][path.name]["uploads"]  # the server's JSON answer to the request that sent it
        assert len(answer) == (len(FILES) if bundle else 1)
        [upload] = [upload for upload in answer if upload["name"] == path.name]
        assert upload["name"] == path.name and upload["size"] == len(data)
        assert upload["sha256"] == hashlib.sha256(data).hexdigest()
        assert hashlib.sha256(httpx.get(upload["url"]).content).hexdigest() == upload["sha256"]
        snapshot = httpx.get(upload["url"] + "/progress").json()
        assert snapshot["batch"] == BATCH and snapshot["metadata"]["title"] == "from Uppy"
        assert snapshot["filename"] == path.name
        assert snapshot["source"]["type"] == "form"
        events_uri = upload["url"].replace("http://", "ws://") + "/events?since=0"
        follower = asyncio.run(follow_ws(events_uri, stop_after=is_type("completed")))
        types = [event["type"] for event in follower.events]
        assert types[0] == "created" and "progress" in types and types[-1] == "completed", json.dumps(types)
