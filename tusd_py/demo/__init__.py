"""The browser demo page (`tusd-py serve --demo`): pick files, upload them, watch the server's events."""

from __future__ import annotations

from tusd_py.demo.page import TUS_BUNDLE, UPPY_BUNDLES, DemoPage

__all__ = ["TUS_BUNDLE", "UPPY_BUNDLES", "DemoPage"]
