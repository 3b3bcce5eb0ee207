"""Uppy's Dashboard with @uppy/tus on the demo page, in a real chromium against `tusd-py serve --demo`: several
files picked and dropped, one paused and resumed, each arriving intact and sent once, the server's events shown."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.support.browser import chromium
from tests.support.live_server import LiveServer
from tests.support.programs import require_path
from tests.support.tus import offset_of
from tests.support.waiting import wait_until
from tusd_py.demo import UPPY_BUNDLES

MiB = 2**20
CHUNK_SIZE = 128 * 1024  # small PATCHes: big.bin lasts long enough to be paused half-way on any machine
PICKED = {"big.bin": 32 * MiB, "medium.bin": 4 * MiB, "small.txt": 300 * 1024}
DROPPED = {"dropped-one.txt": "first dropped file\n", "dropped-two.txt": "second dropped file\n" * 1000}
PAGE_TIMEOUT_MS = 60_000
TEST_OUTPUT = Path(__file__).parent.parent.parent / "test-output"  # git-ignored: the finished page, to look at


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    for bundle, _ in UPPY_BUNDLES.values():
        require_path(bundle, "the demo serves Uppy from `npm ci --prefix tusd_py/demo` (make demo)")
    with chromium("the Uppy demo page is tested in a real browser") as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("uppy-server")
    server = LiveServer(root / "uploads", root / "server.log", "--demo", "true", "--progress-interval", "100ms")
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


def write_files(directory: Path, sizes: dict[str, int]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, size in sizes.items():
        paths[name] = directory / name
        paths[name].write_bytes(hashlib.shake_256(name.encode()).digest(size))
    return paths


def bytes_stored(server: LiveServer) -> float:
    """The server's own count of upload bytes it stored, from /metrics."""
    text = httpx.get(f"{server.base_url}/metrics").text
    found = re.search(r"^tusd_py_bytes_received_total (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def dashboard_item(page: Page, name: str) -> Locator:
    return page.locator(".uppy-Dashboard-Item").filter(has=page.locator(f"[title='{name}']"))


def stored_line(page: Page, name: str) -> Locator:
    return page.locator(f"#stored li[data-filename='{name}']")


def stored_offset(page: Page, name: str) -> int:
    line = stored_line(page, name)
    return int(line.get_attribute("data-offset") or 0) if line.count() else 0


def drop(page: Page, target: str, contents: dict[str, str]) -> None:
    transfer = page.evaluate_handle(
        """(contents) => {
            const transfer = new DataTransfer();
            for (const [name, text] of Object.entries(contents)) transfer.items.add(new File([text], name));
            return transfer;
        }""",
        contents,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})


# Clicks big.bin's own pause button in the Dashboard from inside the page, as soon as Uppy reports two chunks sent:
# by then the server has answered the first PATCH (it stored something), and the file is far from its end on any
# machine, however fast (a click from the test would come a round trip later).
PAUSE_BIG_EARLY = """(threshold) => {
  window.uppy.on('upload-progress', (file, progress) => {
    if (file.name !== 'big.bin' || window.pausedBig || progress.bytesUploaded < threshold) return;
    const item = [...document.querySelectorAll('.uppy-Dashboard-Item')]
      .find((element) => element.querySelector("[title='big.bin']"));
    const pause = item && item.querySelector("button[aria-label='Pause upload']");
    if (!pause) return;
    window.pausedBig = true;
    pause.click();
  });
}"""


@dataclass
class UppyRun:
    sources: dict[str, Path]
    dropped: dict[str, str]
    stored_before: float
    stored_after: float = 0.0
    paused_offset: int = 0
    offset_after_others_finished: int = 0
    urls: dict[str, str] = field(default_factory=dict)
    logged: list[tuple[str | None, str | None]] = field(default_factory=list)
    finished: str | None = None
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def uppy_run(browser: Browser, server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> UppyRun:
    """Three files picked and two dropped on the Dashboard, uploaded as one batch; big.bin paused once the server
    stored some of it, resumed after the others finished."""
    run = UppyRun(write_files(tmp_path_factory.mktemp("uppy-files"), PICKED), DROPPED, bytes_stored(server))
    page = browser.new_page(viewport={"width": 1000, "height": 1200})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.on("console", lambda message: run.console_errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{server.base_url}/demo/uppy.html?chunk_size={CHUNK_SIZE}")
    page.wait_for_selector("#connection[data-state='open']")
    page.evaluate(PAUSE_BIG_EARLY, 2 * CHUNK_SIZE + 1)
    page.set_input_files(".uppy-Dashboard-input >> nth=0", [str(path) for path in run.sources.values()])
    drop(page, ".uppy-Dashboard-inner", DROPPED)
    page.get_by_role("button", name=re.compile(r"^Upload 5 files")).click()

    page.wait_for_function("() => window.pausedBig === true")
    dashboard_item(page, "big.bin").get_by_role("button", name="Resume upload").wait_for()
    for name in [*PICKED, *DROPPED]:
        upload_id = wait_until(lambda name=name: stored_line(page, name).get_attribute("data-upload-id"), timeout=60)
        run.urls[name] = server.endpoint + upload_id
    # Their completions as the page shows them, not HEADs: a HEAD takes the upload's lock and so would end a PATCH
    # still in flight (409 upload_interrupted), which the browser logs as an error.
    for name in ("medium.bin", "small.txt"):
        page.wait_for_selector(f"#event-log li[data-type='completed'][data-filename='{name}']", timeout=60_000)
        assert offset_of(run.urls[name]) == PICKED[name]
    run.paused_offset = offset_of(run.urls["big.bin"])
    wait_until(lambda: stored_offset(page, "big.bin") == run.paused_offset, timeout=30)
    page.wait_for_selector("#event-log li[data-type='completed'][data-filename='dropped-two.txt']")
    run.offset_after_others_finished = offset_of(run.urls["big.bin"])

    dashboard_item(page, "big.bin").get_by_role("button", name="Resume upload").click()
    page.wait_for_selector("body[data-uppy-finished]", timeout=120_000)
    run.finished = page.get_attribute("body", "data-uppy-finished")
    page.wait_for_selector("#event-log li[data-type='batch-completed']")
    run.logged = [
        (entry.get_attribute("data-type"), entry.get_attribute("data-filename"))
        for entry in page.locator("#event-log li").all()
    ]
    run.stored_after = bytes_stored(server)
    TEST_OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=TEST_OUTPUT / "uppy-page.png", full_page=True, animations="disabled")
    page.close()
    return run


def test_every_file_picked_or_dropped_arrives_intact(uppy_run: UppyRun) -> None:
    assert uppy_run.finished == "5"
    for name, path in uppy_run.sources.items():
        assert hashlib.sha256(httpx.get(uppy_run.urls[name]).content).hexdigest() == sha256(path.read_bytes()), name
    for name, text in uppy_run.dropped.items():
        assert httpx.get(uppy_run.urls[name]).text == text, name


def test_a_paused_file_stays_where_the_server_stopped_while_the_others_finish(uppy_run: UppyRun) -> None:
    assert 0 < uppy_run.paused_offset < PICKED["big.bin"]
    assert uppy_run.offset_after_others_finished == uppy_run.paused_offset


def test_the_resumed_file_sends_only_what_the_server_did_not_store(uppy_run: UppyRun) -> None:
    total = sum(PICKED.values()) + sum(len(text) for text in DROPPED.values())
    # Every byte stored exactly once: resuming from zero, or as a new upload, would count big.bin's first part twice.
    assert uppy_run.stored_after - uppy_run.stored_before == total


def test_the_servers_events_for_every_file_show_on_the_page(uppy_run: UppyRun) -> None:
    for name in [*PICKED, *DROPPED]:
        assert ("created", name) in uppy_run.logged, name
        assert ("completed", name) in uppy_run.logged, name
    assert ("progress", "big.bin") in uppy_run.logged
    assert any(kind == "batch-completed" for kind, _ in uppy_run.logged)


def test_the_page_runs_without_errors_under_its_content_security_policy(uppy_run: UppyRun) -> None:
    assert uppy_run.console_errors == []


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
