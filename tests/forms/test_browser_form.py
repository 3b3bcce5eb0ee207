"""A plain HTML form, no script, in headless chromium: the files become uploads and the browser follows the 303."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.browser import chromium
from tests.support.live_server import LiveServer
from tests.support.tus import payload

FORM = """<!doctype html>
<form method="post" action="{action}" enctype="multipart/form-data">
  <input type="hidden" name="batch" value="browser-form">
  <input type="hidden" name="redirect" value="{redirect}">
  <input type="text" name="title" value="from a plain form">
  <input type="file" name="files" multiple>
  <button type="submit">Send</button>
</form>
"""


def test_a_plain_html_form_uploads_its_files_and_follows_the_redirect(form_server: LiveServer, tmp_path: Path) -> None:
    files = {"photo.jpg": payload(200_000, seed=3), "notes.txt": b"plain text\n" * 100}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    # The page is a file on disk (another origin): the form posts across origins, as a static site's would.
    page_path = tmp_path / "form.html"
    page_path.write_text(FORM.format(action=form_server.endpoint + "form", redirect=form_server.base_path))

    with chromium("a plain HTML form is tested in a real browser") as browser:
        page = browser.new_page()
        page.goto(page_path.as_uri())
        page.set_input_files("input[type=file]", [str(tmp_path / name) for name in files])
        with page.expect_navigation(url=lambda url: "upload=" in url, timeout=60_000):
            page.click("button")
        landed = page.url
        listing = json.loads(page.inner_text("body"))  # the redirect went to the listing, which is JSON

    assert landed.startswith(form_server.endpoint)
    ids = parse_qs(urlsplit(landed).query)["upload"]
    assert len(ids) == 2
    assert listing["total"] >= 2
    for upload_id in ids:
        snapshot = httpx.get(f"{form_server.endpoint}{upload_id}/progress").json()
        assert snapshot["status"] == "completed"
        assert snapshot["batch"] == "browser-form"
        assert snapshot["metadata"]["title"] == "from a plain form"
        content = httpx.get(form_server.endpoint + upload_id).content
        assert hashlib.sha256(content).digest() == hashlib.sha256(files[snapshot["filename"]]).digest()
