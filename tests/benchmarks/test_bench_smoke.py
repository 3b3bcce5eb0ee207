"""The benchmark harness still runs: a --quick run against tusd_py and the raw sink yields figures and cleans up."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRK_FIGURES = {"small_upload_wrk", "small_upload_cpu", "small_patch_wrk", "creates_wrk"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    scratch = tmp_path_factory.mktemp("bench-scratch")
    output = tmp_path_factory.mktemp("bench-out") / "result.json"
    command = [
        sys.executable, "-m", "benchmarks", "--quick", "--runs", "1", "--servers", "tusd_py,sink",
        "--output", str(output), "--tmp", str(scratch),
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(output.read_text()), scratch


def figure(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(f for f in document["figures"] if f["key"] == key)


def test_every_figure_has_a_number_and_creations_come_first(quick_run: tuple[dict[str, Any], Path]) -> None:
    document, _ = quick_run
    keys = [f["key"] for f in document["figures"]]
    assert keys == [
        "creates", "small_upload_wrk", "small_upload_cpu", "small_patch_wrk", "creates_wrk", "small_upload_py",
        "small_patch_py", "single_patch", "single_patch_cpu", "socket_upload", "socket_upload_cpu", "chunked_patch",
        "parallel_uploads", "peak_rss", "download_full", "download_range", "event_latency_p50", "event_latency_p99",
    ]  # fmt: skip
    for entry in document["figures"]:
        result = entry["servers"]["tusd_py"]
        if shutil.which("wrk") is None and entry["key"] in WRK_FIGURES:  # the one reason such a figure may lack
            assert result == {"na": "wrk is not installed (make bench installs it when run as root)"}
            continue
        assert "na" not in result, (entry["key"], result)
        assert result["median"] > 0 and len(result["runs"]) == 1


def test_the_sink_is_measured_and_compared_where_it_can_be(quick_run: tuple[dict[str, Any], Path]) -> None:
    document, _ = quick_run
    single = figure(document, "single_patch")
    assert single["servers"]["sink"]["median"] > 0
    assert single["tusd_py_advantage"]["sink"] == pytest.approx(
        single["servers"]["tusd_py"]["median"] / single["servers"]["sink"]["median"]
    )
    assert figure(document, "event_latency_p99")["servers"]["sink"] == {"na": "no live progress events"}


def test_the_targets_are_judged(quick_run: tuple[dict[str, Any], Path]) -> None:
    document, _ = quick_run
    by_text = {t["target"]: t for t in document["targets"]}
    assert by_text["single-stream upload ≥ 70 % of the raw sink"]["holds"] in (True, False)
    assert by_text["single-stream upload ≥ 3× @tus/server"]["holds"] is None  # not run: not judged


def test_the_run_leaves_no_file_and_no_process_behind(quick_run: tuple[dict[str, Any], Path]) -> None:
    _, scratch = quick_run
    assert list(scratch.iterdir()) == []
    still_running = subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout.split()
    assert still_running == []


def test_the_s3_contenders_are_measured_on_a_seaweedfs_of_the_run_s_own(tmp_path: Path) -> None:
    """tusd_py on S3 and the raw S3 put take one PATCH each in their own table; SeaweedFS leaves nothing behind."""
    output = tmp_path / "s3.json"
    command = [
        sys.executable, "-m", "benchmarks", "--quick", "--runs", "1", "--servers", "tusd-py-s3,s3-put",
        "--only", "single", "--output", str(output), "--tmp", str(tmp_path),
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr[-3000:]

    single = figure(json.loads(output.read_text()), "single_patch")
    assert single["servers"]["tusd-py-s3"]["median"] > 0 and single["servers"]["s3-put"]["median"] > 0
    assert single["tusd_py_advantage"]["s3-put"] == pytest.approx(
        single["servers"]["tusd-py-s3"]["median"] / single["servers"]["s3-put"]["median"]
    )
    assert "### S3 (SeaweedFS)" not in finished.stdout  # one store: one table, no headings
    assert "| tusd_py S3 | raw S3 put |" in finished.stdout.replace("figure | unit | ", "")
    assert [p.name for p in tmp_path.iterdir()] == ["s3.json"]
