"""The local record of unfinished uploads: fingerprints, atomic rewrites, one entry per file and endpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tusd_py.client.fingerprint import FileIdentity, fingerprint
from tusd_py.client.url_store import StoredUpload, URLStore, default_store_path

ENDPOINT = "http://127.0.0.1:1080/files/"


def entry(key: str, path: str = "/data/a.bin", endpoint: str = ENDPOINT, urls: list[str] | None = None) -> StoredUpload:
    return StoredUpload(key, endpoint, path, 10, urls or [f"{endpoint}{key}"])


def test_the_fingerprint_changes_with_the_file_and_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789")
    first = FileIdentity.of(path)
    assert fingerprint(first, ENDPOINT) == fingerprint(FileIdentity.of(path), ENDPOINT)
    assert fingerprint(first, ENDPOINT) != fingerprint(first, "http://elsewhere/files/")
    os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    assert fingerprint(FileIdentity.of(path), ENDPOINT) != fingerprint(first, ENDPOINT)
    path.write_bytes(b"012345678")
    assert FileIdentity.of(path).size == 9


def test_the_same_file_by_another_relative_path_has_the_same_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.bin").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert fingerprint(FileIdentity.of("a.bin"), ENDPOINT) == fingerprint(FileIdentity.of(tmp_path / "a.bin"), ENDPOINT)


def test_an_entry_is_found_again_by_its_fingerprint(tmp_path: Path) -> None:
    store = URLStore(tmp_path / "store.json")
    store.put(entry("k1", urls=["u1", "u2"]))
    found = URLStore(tmp_path / "store.json").get("k1")
    assert found is not None and found.urls == ["u1", "u2"] and found.size == 10
    assert store.get("k2") is None


def test_removing_an_entry_forgets_it(tmp_path: Path) -> None:
    store = URLStore(tmp_path / "store.json")
    store.put(entry("k1"))
    store.put(entry("k2", path="/data/b.bin"))
    store.remove("k1")
    assert [e.fingerprint for e in store.entries()] == ["k2"]


def test_a_new_entry_for_the_same_file_and_endpoint_replaces_the_old_one(tmp_path: Path) -> None:
    store = URLStore(tmp_path / "store.json")
    store.put(entry("old"))
    store.put(entry("other-endpoint", endpoint="http://elsewhere/files/"))
    store.put(entry("new"))  # the file changed: a new fingerprint
    assert sorted(e.fingerprint for e in store.entries()) == ["new", "other-endpoint"]


def test_writes_leave_no_temporary_files_and_valid_json(tmp_path: Path) -> None:
    store = URLStore(tmp_path / "cache" / "store.json")
    for index in range(5):
        store.put(entry(f"k{index}", path=f"/data/{index}"))
    names = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert names == ["store.json", "store.json.lock"]
    data = json.loads((tmp_path / "cache" / "store.json").read_text())
    assert data["version"] == 1 and len(data["uploads"]) == 5


def test_an_unreadable_store_counts_as_empty_and_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text("{not json")
    store = URLStore(path)
    assert store.get("k1") is None
    store.put(entry("k1"))
    assert store.get("k1") is not None


def test_the_default_store_lives_in_the_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "tusd-py" / "uploads.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".cache" / "tusd-py" / "uploads.json"
