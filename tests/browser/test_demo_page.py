"""The demo page in a real chromium against `tusd-py serve --demo`: a batch of real files with one paused and
resumed, bars driven by the server's events, a batch summary, downloads that match, drops, auth and cancelling."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.support.browser import chromium
from tests.support.in_process import ThreadedServer
from tests.support.live_server import LiveServer
from tests.support.programs import require_path
from tests.support.tus import offset_of
from tests.support.waiting import wait_until
from tusd_py import Settings, create_app
from tusd_py.demo import TUS_BUNDLE
from tusd_py.events.models import Event, FailedEvent, ProcessedEvent, ProcessingEvent, utc_timestamp

MiB = 2**20
# Small PATCHes make a 48 MiB upload last long enough to pause it half-way on any machine.
CHUNK_SIZE = 128 * 1024
SIZES = {"big.bin": 48 * MiB, "medium.bin": 16 * MiB, "small.txt": 300 * 1024, "empty.txt": 0}
TEST_OUTPUT = Path(__file__).parent.parent.parent / "test-output"
PAGE_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_path(TUS_BUNDLE, "the demo serves tus-js-client from `npm ci --prefix tusd_py/demo` (make demo)")
    with chromium("the demo page is tested in a real browser") as browser:
        yield browser


def start_server(root: Path, *args: str, module: str = "tusd_py") -> LiveServer:
    server = LiveServer(root / "uploads", root / "server.log", "--demo", "true", *args, module=module)
    server.upload_dir.mkdir()
    server.start()
    return server


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A small upload-socket window: acknowledged at most every 20 ms, big.bin lasts long enough to be paused.
    server = start_server(
        tmp_path_factory.mktemp("demo-server"), "--progress-interval", "100ms", "--ws-upload-window", "128KiB"
    )
    yield server
    server.stop()


def open_demo(browser: Browser, server: LiveServer, query: str = "", width: int = 1000) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{server.base_url}/demo/{query}")
    return page


def write_files(directory: Path, sizes: dict[str, int]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for number, (name, size) in enumerate(sizes.items()):
        path = directory / name
        # Distinct, incompressible content per file: a mix-up between files would show in the digests.
        path.write_bytes(hashlib.shake_256(f"{number}:{name}".encode()).digest(size) if size else b"")
        paths[name] = path
    return paths


def row(page: Page, name: str) -> Locator:
    return page.locator(f"li.file[data-name='{name}']")


def bar_value(row: Locator) -> float:
    return float(row.locator(".bar").get_attribute("aria-valuenow") or "nan")


def shown_offset(row: Locator) -> int | None:
    text = row.get_attribute("data-offset")
    return int(text) if text is not None else None


def upload_url(server: LiveServer, row: Locator) -> str:
    return server.endpoint + (row.get_attribute("data-upload-id") or "")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_screenshot(page: Page, directory: Path, name: str) -> Path:
    """Into the test's own output, and a copy into the git-ignored test-output/ folder to look at afterwards."""
    path = directory / name
    page.screenshot(path=path, full_page=True, animations="disabled")
    TEST_OUTPUT.mkdir(exist_ok=True)
    shutil.copyfile(path, TEST_OUTPUT / name)
    print(f"demo page screenshot: {path} (copy: {TEST_OUTPUT / name})")
    return path


@dataclass
class PausedRun:
    """What one batch upload showed: the paused file while paused, then every row and the batch at the end."""

    sources: dict[str, Path]
    offset_when_settled: int = 0
    bar_when_settled: float = 0.0
    offset_after_others_moved: int = 0
    bar_after_others_moved: float = 0.0
    state_while_paused: str | None = None
    medium_offset_when_settled: int = 0
    medium_state_after: str | None = None
    final: dict[str, tuple[str | None, float, str | None]] = field(default_factory=dict)
    batch: dict[str, str | None] = field(default_factory=dict)
    screenshot: Path | None = None
    transport: str = "tus"
    log: str = ""  # what the server logged during the run
    shown: dict[str, list[str]] = field(default_factory=dict)  # every text a file's numbers or the summary showed


# Records every text the rows' numbers and the batch's speed and time left show, without slowing the run down.
RECORD_SHOWN = """() => {
  window.shown = {};
  const note = (key, text) => {
    const seen = (window.shown[key] = window.shown[key] || []);
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  };
  new MutationObserver(() => {
    for (const numbers of document.querySelectorAll('li.file .file-numbers'))
      note(numbers.closest('li.file').dataset.name, numbers.textContent);
    for (const key of ['summary-speed', 'summary-eta'])
      for (const element of document.querySelectorAll('.' + key)) note(key, element.textContent);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module", params=["tus", "websocket"])
def paused_run(
    request: pytest.FixtureRequest,
    browser: Browser,
    demo_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> PausedRun:
    """Four files in one batch, sent with the transport chosen on the page; big.bin paused once the server
    reports its first bytes, resumed after medium.bin finished, then everything left to finish."""
    transport: str = request.param
    output = tmp_path_factory.mktemp(f"demo-run-{transport}")
    run = PausedRun(write_files(output / "files", SIZES), transport=transport)
    log_start = len(demo_server.log())
    page = open_demo(browser, demo_server, f"?chunk_size={CHUNK_SIZE}")
    page.wait_for_selector("#connection[data-state='open']")
    page.get_by_label("Send with").select_option(transport)
    page.evaluate(RECORD_SHOWN)
    page.set_input_files("#file-input", [str(path) for path in run.sources.values()])

    big, medium = row(page, "big.bin"), row(page, "medium.bin")
    wait_until(lambda: bar_value(big) > 0, timeout=30)
    page.get_by_role("button", name="Pause big.bin").click()
    run.state_while_paused = big.get_attribute("data-state")
    url = upload_url(demo_server, big)
    # Settled: the server's last event for it shows what it stored.
    wait_until(lambda: shown_offset(big) == offset_of(url), timeout=10)
    run.offset_when_settled, run.bar_when_settled = offset_of(url), bar_value(big)
    run.medium_offset_when_settled = shown_offset(medium) or 0

    # While big.bin is paused, medium.bin goes on to the end: that is the time in which big.bin must not move.
    page.wait_for_selector("li.file[data-name='medium.bin'][data-state='completed']")
    run.medium_state_after = medium.get_attribute("data-state")
    run.offset_after_others_moved, run.bar_after_others_moved = offset_of(url), bar_value(big)

    page.get_by_role("button", name="Resume big.bin").click()
    page.wait_for_selector(".batch[data-state='completed']")
    for name in SIZES:
        file_row = row(page, name)
        run.final[name] = (
            file_row.get_attribute("data-state"),
            bar_value(file_row),
            file_row.locator("a.file-download").get_attribute("href"),
        )
    batch = page.locator(".batch")
    run.batch = {key: batch.get_attribute(f"data-{key}") for key in ("state", "total", "finished", "failed")}
    run.batch["status"] = batch.locator(".batch-status").text_content()
    run.screenshot = save_screenshot(page, output, f"demo-page-{transport}.png")
    run.shown = page.evaluate("() => window.shown")
    page.close()
    run.log = demo_server.log()[log_start:]
    return run


def test_a_paused_upload_stops_where_the_server_stored_it_and_stays_there(paused_run: PausedRun) -> None:
    run = paused_run
    assert run.state_while_paused == "paused"
    assert 0 < run.offset_when_settled < SIZES["big.bin"]
    assert run.bar_when_settled == pytest.approx(100 * run.offset_when_settled / SIZES["big.bin"], abs=0.01)
    # medium.bin still had bytes to send when big.bin settled, and sent them all while big.bin waited.
    assert run.medium_offset_when_settled < SIZES["medium.bin"]
    assert run.medium_state_after == "completed"
    assert run.offset_after_others_moved == run.offset_when_settled
    assert run.bar_after_others_moved == run.bar_when_settled


def test_the_transport_chosen_on_the_page_carried_the_bytes(paused_run: PausedRun) -> None:
    patches = paused_run.log.count(" PATCH /files/")
    sockets = paused_run.log.count(" WEBSOCKET /files/upload ")
    if paused_run.transport == "websocket":
        # One socket per file with bytes to send (empty.txt completes at creation too), one more for the resume.
        assert (patches, sockets) == (0, len(SIZES) + 1)
    else:
        assert patches > SIZES["big.bin"] // CHUNK_SIZE and sockets == 0


def test_every_bar_reaches_100_percent(paused_run: PausedRun) -> None:
    assert {name: (state, bar) for name, (state, bar, _) in paused_run.final.items()} == {
        name: ("completed", 100.0) for name in SIZES
    }


def test_speed_and_time_left_show_for_a_file_and_for_the_batch_while_they_upload(paused_run: PausedRun) -> None:
    shown = paused_run.shown
    file_line = r"[\d.]+ [KMG]?i?B of 48\.0 MiB · [\d.]+ % · [\d.]+ [KMG]?i?B/s · .+ left"
    assert any(re.fullmatch(file_line, text) for text in shown["big.bin"]), shown["big.bin"]
    assert any(re.fullmatch(r"[\d.]+ [KMG]?i?B/s", text) for text in shown["summary-speed"]), shown
    assert any(text.endswith(" left") for text in shown["summary-eta"]), shown


def test_the_batch_summary_counts_every_file_finished(paused_run: PausedRun) -> None:
    assert paused_run.batch == {
        "state": "completed",
        "total": "4",
        "finished": "4",
        "failed": "0",
        "status": "done: 4 finished, 0 failed",
    }


def test_each_download_link_gives_back_the_file_that_was_picked(paused_run: PausedRun) -> None:
    for name, (_, _, href) in paused_run.final.items():
        assert href is not None, name
        response = httpx.get(href)
        assert response.status_code == 200, name
        assert hashlib.sha256(response.content).hexdigest() == sha256_file(paused_run.sources[name]), name


def test_the_finished_page_is_saved_as_a_screenshot(paused_run: PausedRun) -> None:
    assert paused_run.screenshot is not None
    assert paused_run.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cancelled_file_counts_as_failed_and_the_batch_still_completes(
    browser: Browser, demo_server: LiveServer, tmp_path: Path
) -> None:
    sources = write_files(tmp_path, {"doomed.bin": 16 * MiB, "kept.txt": 1000})
    page = open_demo(browser, demo_server, "?chunk_size=65536")
    page.set_input_files("#file-input", [str(path) for path in sources.values()])
    doomed = row(page, "doomed.bin")
    wait_until(lambda: bar_value(doomed) > 0, timeout=30)

    page.get_by_role("button", name="Cancel doomed.bin").click()

    page.wait_for_selector(".batch[data-state='completed']")
    assert doomed.get_attribute("data-state") == "cancelled"
    assert httpx.head(upload_url(demo_server, doomed), headers={"Tus-Resumable": "1.0.0"}).status_code in (404, 410)
    batch = page.locator(".batch")
    assert [batch.get_attribute(f"data-{key}") for key in ("total", "finished", "failed")] == ["2", "1", "1"]
    assert batch.locator(".summary-failed").text_content() == "1"
    page.close()


def test_files_dropped_on_the_page_are_uploaded_as_one_batch(browser: Browser, demo_server: LiveServer) -> None:
    contents = {"dropped-one.txt": "first dropped file\n", "dropped-two.txt": "second dropped file\n" * 100}
    page = open_demo(browser, demo_server)
    page.wait_for_selector("#connection[data-state='open']")
    dropped = page.evaluate_handle(
        """(contents) => {
            const transfer = new DataTransfer();
            for (const [name, text] of Object.entries(contents)) transfer.items.add(new File([text], name));
            return transfer;
        }""",
        contents,
    )
    page.dispatch_event("#picker", "dragenter", {"dataTransfer": dropped})
    page.dispatch_event("#picker", "drop", {"dataTransfer": dropped})

    page.wait_for_selector(".batch[data-state='completed']")
    batch = page.locator(".batch")
    assert [batch.get_attribute(f"data-{key}") for key in ("total", "finished", "failed")] == ["2", "2", "0"]
    for name, text in contents.items():
        href = row(page, name).locator("a.file-download").get_attribute("href")
        assert href is not None, name
        assert httpx.get(href).text == text, name
    page.close()


def test_with_auth_on_the_page_uploads_with_the_key_typed_into_it(browser: Browser, tmp_path: Path) -> None:
    server = start_server(tmp_path, "--auth", "api-key", "--api-keys", "demo-key:alice")
    try:
        source = write_files(tmp_path / "files", {"report.txt": 5000})["report.txt"]
        page = open_demo(browser, server)
        page.wait_for_selector("#connection[data-state='unauthenticated']")  # the events socket wants the key too
        page.get_by_label("API key").fill("demo-key")
        page.get_by_label("API key").press("Enter")
        page.wait_for_selector("#connection[data-state='open']")

        page.set_input_files("#file-input", str(source))
        page.wait_for_selector("li.file[data-name='report.txt'][data-state='completed']")
        href = row(page, "report.txt").locator("a.file-download").get_attribute("href") or ""
        remembered = page.evaluate("() => localStorage.getItem('tusd_py.demo.token')")
        page.close()
        with_key, without_key = httpx.get(href), httpx.get(href.split("?")[0])
    finally:
        server.stop()

    assert remembered == "demo-key"
    assert "token=demo-key" in href
    assert with_key.status_code == 200
    assert with_key.content == source.read_bytes()
    assert without_key.status_code == 401


def test_without_tus_js_client_the_page_says_how_to_install_it(browser: Browser, tmp_path: Path) -> None:
    server = start_server(tmp_path, module="tests.browser.serve_without_tus_bundle")
    try:
        page = open_demo(browser, server)
        notice = page.get_by_role("alert")
        notice.wait_for()
        text = notice.text_content() or ""
        disabled = page.locator("#file-input").is_disabled()
        save_screenshot(page, tmp_path, "demo-page-without-tus-js-client.png")
        page.close()
    finally:
        server.stop()

    assert "tus-js-client is not installed" in text
    assert "npm ci --prefix tusd_py/demo" in text
    assert disabled
    assert "tus-js-client is missing" in server.log()


class InProcessServer(ThreadedServer):
    """The app under a real uvicorn in a thread, so a test can publish on its event bus what the processing
    pipeline publishes (`processing`, `processed`, `failed`) at the moments the test chooses."""

    def __init__(self, upload_dir: Path) -> None:
        self.app = create_app(Settings(upload_dir=upload_dir, demo=True, progress_interval=0.1))
        super().__init__(self.app)

    def publish(self, event_class: type[Event], upload_id: str, **fields: Any) -> None:
        bus = self.app.state.bus

        async def publish() -> None:
            seq = await bus.next_seq(f"upload:{upload_id}")
            event = event_class(upload_id=upload_id, seq=seq, timestamp=utc_timestamp(time.time()), **fields)
            await bus.publish(event)

        asyncio.run_coroutine_threadsafe(publish(), self.loop).result(timeout=10)


def test_processing_stages_show_on_each_file_as_the_server_reports_them(browser: Browser, tmp_path: Path) -> None:
    sources = write_files(tmp_path / "files", {"photo.jpg": 4000, "archive.zip": 6000})
    with InProcessServer(tmp_path / "uploads") as server:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(f"{server.base_url}/demo/")
        page.set_input_files("#file-input", [str(path) for path in sources.values()])
        page.wait_for_selector(".batch[data-state='completed']")
        photo, archive = row(page, "photo.jpg"), row(page, "archive.zip")
        photo_id, archive_id = (file.get_attribute("data-upload-id") or "" for file in (photo, archive))

        server.publish(ProcessingEvent, photo_id, status="processing", stage="thumbnail", stage_progress=0.4)
        server.publish(ProcessingEvent, archive_id, status="processing", stage="virus-scan", stage_progress=None)
        page.wait_for_selector("li.file[data-name='archive.zip'][data-state='processing']")
        processing = [photo.locator(".file-status").text_content(), archive.locator(".file-status").text_content()]

        server.publish(ProcessedEvent, photo_id, status="processed", message="thumbnail ready", result={"w": 64})
        server.publish(
            FailedEvent,
            archive_id,
            status="failed",
            stage="virus-scan",
            error_code="infected",
            error_message="the scanner found something",
        )
        page.wait_for_selector("li.file[data-name='archive.zip'][data-state='failed']")
        finished = [photo.get_attribute("data-state"), photo.locator(".file-status").text_content()]
        failed = archive.locator(".file-status").text_content()
        page.close()

    assert processing == ["processing: thumbnail 40.0 %", "processing: virus-scan"]
    assert finished == ["processed", "thumbnail ready"]
    assert failed == "failed in virus-scan: the scanner found something"
