"""The run's scratch space under /tmp: the data files the clients send, and every server's upload directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

RANDOM_BLOCK = 64 * 2**20


class Workspace:
    """A temporary directory removed, with everything in it, by `remove()`."""

    def __init__(self, parent: str | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tusd-bench-", dir=parent))
        self.servers = self.root / "servers"
        self.servers.mkdir()
        self._data: dict[int, Path] = {}

    def data_file(self, size: int) -> Path:
        """A file of `size` real bytes (a random block repeated; never sparse), made once per size."""
        if size not in self._data:
            path = self.root / f"data-{size}.bin"
            block = os.urandom(min(RANDOM_BLOCK, size))
            with open(path, "wb") as out:
                remaining = size
                while remaining:
                    piece = block[: min(len(block), remaining)]
                    out.write(piece)
                    remaining -= len(piece)
            self._data[size] = path
        return self._data[size]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
