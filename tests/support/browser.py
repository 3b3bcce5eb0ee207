"""Debian's chromium driven by playwright, for tests that need a real browser (playwright never downloads one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from tests.support.programs import require_program

CHROMIUM = "/usr/bin/chromium"
# No sandbox: CI containers run as root. The rest keeps a headless run quiet and quick.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path(why: str) -> str:
    """Debian's chromium, else one on PATH; a skip saying `why` (a failure in CI) when there is none."""
    return CHROMIUM if os.path.exists(CHROMIUM) else require_program("chromium", why)


@contextmanager
def chromium(why: str) -> Iterator[Browser]:
    """A headless chromium for the length of the block."""
    path = chromium_path(why)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
