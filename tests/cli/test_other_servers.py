"""`tusd-py upload` against another tus 1.0 server: @tus/server (Node) with its file store."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

from tests.cli.conftest import (
    Background,
    MiB,
    NodeTusServer,
    json_lines,
    make_file,
    recorded_url,
    run_cli,
    stored_bytes,
)
from tests.support.waiting import wait_until


def node_upload(server: NodeTusServer, store: Path, source: Path, *extra: str) -> list[str]:
    return ["upload", str(source), "--endpoint", server.endpoint, "--store", str(store), "--json", *extra]


def stored_sha256(server: NodeTusServer, url: str) -> str:
    return hashlib.sha256((server.directory / url.rsplit("/", 1)[-1]).read_bytes()).hexdigest()


def test_a_whole_file_reaches_the_node_server(node_tus_server: NodeTusServer, tmp_path: Path) -> None:
    source = make_file(tmp_path, "to-node.bin", 2 * MiB + 5)
    result = run_cli(tmp_path, *node_upload(node_tus_server, tmp_path / "store.json", source, "--chunk-size", "1MiB"))
    assert result.returncode == 0, result.stderr
    (line,) = json_lines(result.stdout)
    assert line["url"].startswith(node_tus_server.endpoint) and line["status"] == "uploaded"
    assert stored_sha256(node_tus_server, line["url"]) == hashlib.sha256(source.read_bytes()).hexdigest()


def test_an_interrupted_upload_to_the_node_server_resumes(
    node_tus_server: NodeTusServer, tmp_path: Path, background: Background
) -> None:
    source, store = make_file(tmp_path, "resumed.bin", 2 * MiB), tmp_path / "store.json"
    slow = ("--chunk-size", "64KiB", "--limit-rate", "512KiB")
    first = background.start(*node_upload(node_tus_server, store, source, *slow))
    url = recorded_url(store)
    wait_until(lambda: stored_bytes(node_tus_server.directory, url) > 0)
    first.process.send_signal(signal.SIGINT)
    assert first.wait() == 130

    second = run_cli(tmp_path, *node_upload(node_tus_server, store, source))
    assert second.returncode == 0, second.stderr
    (line,) = json_lines(second.stdout)
    assert line["url"] == url and line["resumed_from"] > 0
    assert line["bytes_sent"] == 2 * MiB - line["resumed_from"]
    assert stored_sha256(node_tus_server, url) == hashlib.sha256(source.read_bytes()).hexdigest()


def test_parallel_parts_are_refused_clearly_where_concatenation_is_missing(
    node_tus_server: NodeTusServer, tmp_path: Path
) -> None:
    source = make_file(tmp_path, "split.bin", 1000)
    result = run_cli(tmp_path, *node_upload(node_tus_server, tmp_path / "store.json", source, "--parallel", "3"))
    assert result.returncode == 4
    (line,) = json_lines(result.stdout)
    assert line["error"]["kind"] == "MissingCapability"
    assert "--parallel 3 needs the tus 'concatenation' extension" in line["error"]["message"]
    assert list(node_tus_server.directory.iterdir()) == []  # refused before anything was created
