"""`tusd-py upload --protocol ietf` (its resume after a kill is in test_resume.py, beside tus 1.0's)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import make_file, run_cli


def test_ietf_refuses_parallel_parts(tmp_path: Path) -> None:
    source = make_file(tmp_path, "x.bin", 10)
    result = run_cli(tmp_path, "upload", str(source), "--endpoint", "http://127.0.0.1:9/files/", "--protocol", "ietf",
                     "--parallel", "2")  # fmt: skip
    assert result.returncode != 0
    assert "--protocol ietf" in result.stderr
