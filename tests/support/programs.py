"""Finding the outside programs a test needs, and refusing to skip silently in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_program(name: str, why: str) -> str:
    """Return the path of `name`; skip the test (fail under TUSD_PY_REQUIRE_ALL) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: {why}"
        if os.environ.get("TUSD_PY_REQUIRE_ALL"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_path(path: os.PathLike[str] | str, why: str) -> None:
    """Skip (fail under TUSD_PY_REQUIRE_ALL) when a file the test needs is missing."""
    if not os.path.exists(path):
        message = f"{path} is missing: {why}"
        if os.environ.get("TUSD_PY_REQUIRE_ALL"):
            pytest.fail(message)
        pytest.skip(message)
