"""A small file system of a test's own (a tmpfs), filled with ballast and freed again, for real full-disk faults."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

PAGE = 4096


def require_small_disks() -> None:
    """Mounting a tmpfs needs root (CAP_SYS_ADMIN); skip (fail under TUSD_PY_REQUIRE_ALL) without it."""
    if os.geteuid() != 0:
        message = "a small disk of the test's own (a tmpfs mount) needs root"
        if os.environ.get("TUSD_PY_REQUIRE_ALL"):
            pytest.fail(message)
        pytest.skip(message)


class SmallDisk:
    """A tmpfs of `size` bytes at `path`. `fill()` takes every free byte with a ballast file; `free(n)` gives
    `n` bytes back; `empty()` removes the ballast. tmpfs counts whole pages, so sizes are multiples of 4 KiB."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.ballast = path / ".ballast"

    def mount(self) -> None:
        require_small_disks()
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)

    def fill(self) -> None:
        """Write ballast until the kernel answers ENOSPC."""
        with open(self.ballast, "ab", buffering=0) as ballast:
            for piece in (1024 * 1024, PAGE, 1):
                try:
                    while True:
                        ballast.write(b"\0" * piece)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise

    def free(self, size: int) -> None:
        """Give back `size` bytes (whole pages) of the ballast."""
        os.truncate(self.ballast, max(0, self.ballast.stat().st_size - size))

    def empty(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def files(self) -> list[str]:
        """What is on the disk but the ballast, dot-files included."""
        return sorted(path.name for path in self.path.rglob("*") if path != self.ballast)
