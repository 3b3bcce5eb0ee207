"""The bytes the interop tests upload: deterministic, incompressible, and sized to leave a short last chunk."""

from __future__ import annotations

import random

MiB = 1024 * 1024

# Not a multiple of any chunk size the tests use, so the last chunk is always a short one.
SOURCE_SIZE = 3 * MiB + 12_345

TINY_CONTENT = b"\x00\xff"


def source_content() -> bytes:
    """Seeded random bytes: the same on every run."""
    return random.Random(1_000_001).randbytes(SOURCE_SIZE)
