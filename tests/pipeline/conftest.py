"""Fixtures for the pipeline tests: real servers running the example's stages (and the tests' own), and images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.support.live_server import LiveServer
from tests.support.s3_server import start_on_store

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_STAGES = ",".join(f"{name}=examples.pipeline.stages:{name}" for name in ("digests", "inspect", "thumbnail"))


def pipeline_server(root: Path, *args: str, store_kind: str, request: pytest.FixtureRequest) -> LiveServer:
    """A started server on `store_kind` whose stage modules import from the repository; stages share `root/shared`
    with tests."""
    shared = root / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    env = {"PYTHONPATH": str(REPO), "PIPELINE_TEST_DIR": str(shared)}
    if store_kind == "s3":  # stages read a temporary copy there: the example is told where thumbnails go
        env["THUMBNAILS_DIR"] = str(root / "uploads" / "_thumbnails")
    return start_on_store(store_kind, request, root, "--progress-interval", "50ms", *args, env=env)


def png(width: int, height: int) -> bytes:
    """A real PNG with an alpha channel: a gradient, half transparent on its right."""
    image = Image.new("RGBA", (width, height))
    image.putdata(
        [
            (x * 255 // width, y * 255 // height, 128, 255 if x < width // 2 else 0)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
