"""`tusd-py upload` as a user runs it: output modes, metadata, batches, parallel parts, exit codes, auth."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import MiB, json_lines, make_file, run_cli
from tests.interop.stored_upload import StoredUpload, sha256
from tests.support.live_server import LiveServer, free_port
from tusd_py.cli.main import build_parser, main
from tusd_py.cli.upload import request_headers


def run_here(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The command in this process: the same code as `tusd-py …` without starting an interpreter."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def upload_args(server: LiveServer, store: Path, *files: Path) -> list[str | Path]:
    return ["upload", *files, "--endpoint", server.endpoint, "--store", store]


def test_an_upload_shows_progress_and_prints_where_the_file_went(
    shared_live_server: LiveServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path, "holiday.mp4", MiB)
    result = run_cli(tmp_path, *map(str, upload_args(shared_live_server, tmp_path / "store.json", source)))
    assert result.returncode == 0, result.stderr
    finished = [line for line in result.stdout.splitlines() if line.startswith("✓")]
    assert len(finished) == 1 and str(source) in finished[0]
    url = finished[0].split()[-1]
    assert url.startswith(shared_live_server.endpoint)
    assert "holiday.mp4" in result.stdout and "100%" in result.stdout  # the bar, drawn once at the end off a tty
    assert StoredUpload.load(shared_live_server.upload_dir, url).sha256 == sha256(source.read_bytes())


def test_several_files_get_a_bar_each_and_a_total_bar_with_speed_and_eta(
    shared_live_server: LiveServer, tmp_path: Path
) -> None:
    sources = [make_file(tmp_path, "first.bin", MiB, 1), make_file(tmp_path, "second.bin", MiB, 2)]
    args = upload_args(shared_live_server, tmp_path / "store.json", *sources)
    result = run_cli(
        tmp_path, *map(str, args), "--chunk-size", "256KiB", "--limit-rate", "8MiB", env={"COLUMNS": "160"}
    )
    assert result.returncode == 0, result.stderr
    bars = {line.split()[0]: line for line in result.stdout.splitlines() if "━" in line}  # drawn once, off a tty
    assert set(bars) == {"total", "first.bin", "second.bin"}
    assert "100% 2.0/2.0 MiB" in bars["total"]
    assert re.search(r"\d+\.\d (KiB|MiB)/s ETA 0s$", bars["total"].rstrip()), bars["total"]
    for name in ("first.bin", "second.bin"):
        assert "100% 1.0/1.0 MiB done" in bars[name] and bars[name].rstrip().endswith("ETA 0s")


def test_json_mode_prints_one_result_per_file(
    shared_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = [make_file(tmp_path, "a.bin", 1000), make_file(tmp_path, "b.bin", 0)]
    code, out, _ = run_here(capsys, *upload_args(shared_live_server, tmp_path / "store.json", *sources), "--json")
    assert code == 0
    lines = json_lines(out)
    assert len(lines) == len(out.splitlines()) == 2
    for source, line in zip(sources, lines, strict=True):
        assert line["file"] == str(source) and line["status"] == "uploaded" and line["error"] is None
        size = source.stat().st_size
        assert (line["size"], line["resumed_from"], line["bytes_sent"], line["parts"]) == (size, 0, size, 1)
        assert StoredUpload.load(shared_live_server.upload_dir, line["url"]).data == source.read_bytes()


def test_quiet_mode_prints_only_the_urls(
    shared_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "quiet.bin", 100)
    code, out, err = run_here(capsys, *upload_args(shared_live_server, tmp_path / "store.json", source), "--quiet")
    assert code == 0 and err == ""
    (url,) = out.split()
    assert StoredUpload.load(shared_live_server.upload_dir, url).data == source.read_bytes()


def test_metadata_and_the_batch_reach_the_server(
    shared_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = [make_file(tmp_path, "one.txt", 10, 1), make_file(tmp_path, "two.txt", 20, 2)]
    code, out, _ = run_here(
        capsys, *upload_args(shared_live_server, tmp_path / "store.json", *sources),
        "--json", "--batch", "cli-batch", "--metadata", "project=apollo", "--metadata", "note=a=b c",
    )  # fmt: skip
    assert code == 0
    for source, line in zip(sources, json_lines(out), strict=True):
        assert StoredUpload.load(shared_live_server.upload_dir, line["url"]).metadata == {
            "filename": source.name, "filetype": "text/plain", "project": "apollo", "note": "a=b c",
            "batch": "cli-batch", "batch_total": "2",
        }  # fmt: skip
    summary = httpx.get(shared_live_server.endpoint + "batches/cli-batch").json()
    assert (summary["files"], summary["finished"], summary["complete"]) == (2, 2, True)


def test_parallel_parts_with_checksums_make_one_final_upload(
    shared_live_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "parts.bin", 3 * MiB + 7)
    code, out, _ = run_here(
        capsys, *upload_args(shared_live_server, tmp_path / "store.json", source),
        "--json", "--parallel", "3", "--checksum", "sha1", "--chunk-size", "512KiB",
    )  # fmt: skip
    assert code == 0
    (line,) = json_lines(out)
    final = StoredUpload.load(shared_live_server.upload_dir, line["url"])
    assert line["parts"] == 3 and final.info["IsFinal"] and len(final.info["PartialUploads"]) == 3
    assert final.sha256 == sha256(source.read_bytes())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.bin", "--endpoint", "http://127.0.0.1:1/files/"], "missing.bin: no such file"),
        (["data.bin", "--endpoint", "http://127.0.0.1:1/files/", "--metadata", "novalue"], "write it as KEY=VALUE"),
        (["data.bin"], "--endpoint is required"),
        (["data.bin", "--endpoint", "http://127.0.0.1:1/files/", "--chunk-size", "lots"], "not a size: 'lots'"),
        (["data.bin", "--endpoint", "http://127.0.0.1:1/files/", "--parallel", "0"], "--parallel and --jobs must"),
    ],
)
def test_a_usage_error_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.delenv("TUSD_PY_ENDPOINT", raising=False)
    make_file(tmp_path, "data.bin", 10)
    code, _, err = run_here(capsys, "upload", *[tmp_path / a if a.endswith(".bin") else a for a in args])
    assert code == 2
    assert message in err


def test_an_unreachable_server_exits_3_after_the_retries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_file(tmp_path, "data.bin", 10)
    endpoint = f"http://127.0.0.1:{free_port()}/files/"
    code, out, _ = run_here(capsys, "upload", source, "--endpoint", endpoint, "--retries", "1", "--json")
    assert code == 3
    (line,) = json_lines(out)
    assert line["status"] == "failed" and line["error"]["kind"] == "RetriesExhausted"
    assert "gave up after 2 attempts" in line["error"]["message"]


@pytest.fixture(scope="module")
def api_key_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("api-key-server")
    keys = {"TUSD_PY_API_KEYS": "k-alice:alice"}
    server = LiveServer(root / "uploads", root / "server.log", "--auth", "api-key", env=keys)
    server.upload_dir.mkdir()
    server.start()
    yield server
    server.stop()


def test_an_api_key_from_the_environment_authenticates(
    api_key_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUSD_PY_API_KEY", "k-alice")
    source = make_file(tmp_path, "mine.bin", 500)
    code, out, _ = run_here(capsys, *upload_args(api_key_server, tmp_path / "store.json", source), "--quiet")
    assert code == 0
    assert StoredUpload.load(api_key_server.upload_dir, out.strip()).data == source.read_bytes()


def test_a_refused_file_exits_1_with_the_servers_reason(
    api_key_server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_file(tmp_path, "theirs.bin", 500)
    code, out, _ = run_here(capsys, *upload_args(api_key_server, tmp_path / "store.json", source), "--api-key", "bad")
    assert code == 1
    assert "✗" in out and "theirs.bin: create: 401" in out


def test_credentials_and_extra_headers_become_request_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUSD_PY_TOKEN", "t0k3n")
    args = build_parser().parse_args(
        ["upload", "f", "--api-key", "k1", "--header", "X-Trace: abc", "--header", "X-Empty:"]
    )
    assert request_headers(args) == {
        "X-API-Key": "k1", "Authorization": "Bearer t0k3n", "X-Trace": "abc", "X-Empty": "",
    }  # fmt: skip


def test_a_header_without_a_colon_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_file(tmp_path, "data.bin", 10)
    code, _, err = run_here(capsys, "upload", source, "--endpoint", "http://127.0.0.1:1/files/", "--header", "oops")
    assert code == 2 and "--header 'oops': write it as NAME:VALUE" in err
