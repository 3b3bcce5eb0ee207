"""Fixtures for driving real tus clients: deterministic files to send, and the clients themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.source_data import TINY_CONTENT, source_content
from tests.interop.tus_js_client import INSTALLED_CLIENT, TusJsClient
from tests.support.programs import require_path, require_program


@pytest.fixture(scope="session")
def source_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few MiB: big enough for several chunks, small enough to keep the suite fast."""
    path = tmp_path_factory.mktemp("interop-source") / "source.bin"
    path.write_bytes(source_content())
    return path


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two bytes: split three ways it leaves empty parts."""
    path = tmp_path_factory.mktemp("interop-tiny") / "tiny.bin"
    path.write_bytes(TINY_CONTENT)
    return path


@pytest.fixture(scope="session")
def tus_js_client() -> TusJsClient:
    node = require_program("node", "tus-js-client runs under node for the interop tests")
    require_path(INSTALLED_CLIENT, "install it with `npm ci --prefix tests/interop/node` (make test does)")
    return TusJsClient(node)
