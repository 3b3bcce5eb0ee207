"""`tusd-py watch`: an upload's or a batch's live events in the terminal, until the stream's terminal event."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Background, MiB, make_file, recorded_url, stored_bytes
from tests.support import tus
from tests.support.live_server import LiveServer
from tests.support.waiting import wait_until
from tusd_py.cli.main import main
from tusd_py.cli.watch import describe, outcome_of

SLOW = ["--chunk-size", "64KiB", "--limit-rate", "512KiB"]


def watch_here(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["watch", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_watching_an_upload_shows_its_progress_until_it_completes(
    shared_live_server: LiveServer, tmp_path: Path, background: Background, capsys: pytest.CaptureFixture[str]
) -> None:
    source, store = make_file(tmp_path, "watched.mov", MiB), tmp_path / "store.json"
    background.start("upload", str(source), "--endpoint", shared_live_server.endpoint, "--store", str(store), *SLOW)
    url = recorded_url(store)
    code, lines, _ = watch_here(capsys, url)
    assert code == 0
    progress = [line for line in lines if " progress " in line]
    assert progress and all("watched.mov" in line and "%" in line for line in progress)
    assert any("KiB/s" in line and "ETA" in line for line in progress)  # speed and ETA while it runs
    assert " completed " in lines[-1] and "100.00%" in lines[-1] and "upload complete" in lines[-1]


def test_watching_a_batch_prints_raw_events_until_the_batch_completes(
    shared_live_server: LiveServer, tmp_path: Path, background: Background, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first file takes about a second at this rate: the watch is following well before the second one starts.
    sources = [make_file(tmp_path, "first.bin", 512 * 1024, 1), make_file(tmp_path, "second.bin", 128 * 1024, 2)]
    store = tmp_path / "store.json"
    background.start(
        "upload", *map(str, sources), "--endpoint", shared_live_server.endpoint, "--store", str(store),
        "--batch", "watched-batch", *SLOW,
    )  # fmt: skip
    recorded_url(store)  # the first file exists, so the batch does
    code, lines, _ = watch_here(capsys, "--batch", "watched-batch", "--endpoint", shared_live_server.endpoint, "--json")
    assert code == 0
    events = [json.loads(line) for line in lines]
    assert events[-1]["type"] == "batch-completed"
    assert (events[-1]["total"], events[-1]["finished"], events[-1]["failed"]) == (2, 2, 0)
    assert "second.bin" in {e["filename"] for e in events if e["type"] == "completed"}  # the files' events too


def test_a_batch_watch_started_before_the_batch_waits_for_its_first_file(
    shared_live_server: LiveServer, tmp_path: Path, background: Background
) -> None:
    watcher = background.start("watch", "--batch", "later-batch", "--endpoint", shared_live_server.endpoint, "--json")
    # The server holds the empty batch's stream open (no 4404): connected before the upload or not, the watch
    # ends with the batch's completion.
    source = make_file(tmp_path, "late.bin", 64 * 1024)

    uploaded = main(["upload", str(source), "--endpoint", shared_live_server.endpoint, "--batch", "later-batch"])

    assert uploaded == 0
    assert watcher.wait() == 0
    events = [json.loads(line) for line in watcher.lines]
    assert events[-1]["type"] == "batch-completed" and events[-1]["finished"] == 1


def test_with_wait_0_a_batch_with_no_file_is_not_found_at_once(
    shared_live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = watch_here(
        capsys, "--batch", "never-made", "--endpoint", shared_live_server.endpoint, "--wait", "0"
    )

    assert code == 1
    assert lines == ["error: batch_not_found: no upload belongs to this batch"]
    assert "not found (4404" in err


def test_watching_an_upload_that_gets_terminated_exits_1(
    shared_live_server: LiveServer, background: Background
) -> None:
    url = tus.create(shared_live_server.endpoint, 100, **{"Upload-Metadata": "filename ZG9vbWVkLmJpbg=="})
    watcher = background.start("watch", url)
    wait_until(lambda: watcher.lines)  # the stream opened with the upload's latest event
    assert httpx.delete(url, headers=tus.TUS).status_code == 204
    assert watcher.wait() == 1
    assert " terminated " in watcher.lines[-1] and "doomed.bin" in watcher.lines[-1]


def test_watching_an_unknown_upload_exits_1_with_the_servers_reason(
    shared_live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = watch_here(capsys, "0123456789abcdef0123456789abcdef", "--endpoint", shared_live_server.endpoint)
    assert code == 1
    assert lines == ["error: upload_not_found: no upload with this id"]
    assert "not found (4404" in err


def test_watching_needs_an_upload_or_a_batch(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = watch_here(capsys, "--endpoint", "http://127.0.0.1:1/files/")
    assert code == 2 and "name an upload (ID or URL) or --batch NAME" in err


def test_the_watch_reconnects_after_a_server_crash_and_sees_the_end(
    live_server: LiveServer, background: Background
) -> None:
    url = tus.create(live_server.endpoint, 2000)
    tus.patch(url, 0, b"x" * 1000).raise_for_status()
    watcher = background.start("watch", url)
    wait_until(lambda: watcher.lines)
    live_server.kill()
    live_server.start()
    wait_until(lambda: any("reconnecting" in line for line in watcher.errors))
    assert stored_bytes(live_server.upload_dir, url) == 1000
    tus.patch(url, 1000, b"y" * 1000).raise_for_status()
    assert watcher.wait() == 0
    assert " completed " in watcher.lines[-1]


def test_a_batch_with_failed_files_ends_with_exit_1_and_bad_endings_too() -> None:
    assert outcome_of({"type": "completed"}) == 0
    assert outcome_of({"type": "processed"}) == 0
    assert outcome_of({"type": "batch-completed", "failed": 0}) == 0
    assert outcome_of({"type": "batch-completed", "failed": 1}) == 1
    for ending in ("terminated", "expired", "failed"):
        assert outcome_of({"type": ending}) == 1
    assert outcome_of(None) == 1  # the stream ended before any event


def test_an_event_line_shows_percentage_speed_eta_stage_and_message() -> None:
    line = describe(
        {"type": "processing", "timestamp": "2026-11-22T05:45:00.607Z", "percentage": 12.5,
         "bytes_per_second": 3 * 2**20, "eta_seconds": 65, "stage": "thumbnail", "filename": "photo.jpg",
         "message": "making a thumbnail"}
    )  # fmt: skip
    assert line.split() == ["05:45:00", "processing", "12.50%", "3.0", "MiB/s", "ETA", "1m05s", "stage", "thumbnail",
                            "photo.jpg", "—", "making", "a", "thumbnail"]  # fmt: skip
