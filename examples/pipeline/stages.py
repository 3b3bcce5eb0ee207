r"""Stages of the pipeline example: the file's digests, what it is (an image's size, via Pillow), a thumbnail.

From the command line (run from the repository's root, so `examples` can be imported):

    tusd-py serve --pipeline \
      digests=examples.pipeline.stages:digests,inspect=examples.pipeline.stages:inspect,thumbnail=examples.pipeline.stages:thumbnail

From Python: see examples/pipeline/app.py. Needs Pillow (`pip install Pillow`).

Every stage is async and keeps the event loop free: reading, hashing and decoding run in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from tusd_py.hooks.pipeline import StageContext
from tusd_py.protocol.representation import content_type

CHUNK = 1024 * 1024
THUMBNAIL_SIZE = 128
# Beside the uploads, under a name no upload id can take (ids never start with `_`). On S3 a stage reads a
# temporary copy of the upload: there THUMBNAILS_DIR says where thumbnails go, or they would land in TMPDIR.
THUMBNAIL_DIR = "_thumbnails"


async def digests(context: StageContext) -> dict[str, Any]:
    """SHA-256 and MD5 of the upload's bytes, read a chunk at a time, reporting how far it got."""
    path = context.path
    total = path.stat().st_size

    def hash_file() -> dict[str, Any]:
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        done = 0
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                sha256.update(chunk)
                md5.update(chunk)
                done += len(chunk)
                context.report(done / total, f"hashed {done} of {total} bytes")
        return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest(), "bytes": done}

    return await asyncio.to_thread(hash_file)


async def inspect(context: StageContext) -> dict[str, Any]:
    """What the file is, from its bytes rather than from what the client declared; an image's format and size."""
    context.report(0.0, "looking at the file")
    result = await asyncio.to_thread(_identify, context.path, content_type(context.upload.metadata))
    context.report(1.0, f"it is {result['content_type']}")
    return result


def _identify(path: Path, declared: str) -> dict[str, Any]:
    try:
        with Image.open(path) as image:  # reads the header only
            return {
                "kind": "image",
                "content_type": Image.MIME.get(image.format or "", declared),
                "declared_type": declared,
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "mode": image.mode,
            }
    except UnidentifiedImageError:
        pass
    with path.open("rb") as source:
        start = source.read(5)
    if start == b"%PDF-":
        return {"kind": "document", "content_type": "application/pdf", "declared_type": declared}
    return {"kind": "other", "content_type": declared, "declared_type": declared}


async def thumbnail(context: StageContext) -> dict[str, Any]:
    """A JPEG at most 128 px on its longest side, in `<upload dir>/_thumbnails/<id>.jpg` (`$THUMBNAILS_DIR/<id>.jpg`
    when set); images only."""
    if context.results.get("inspect", {}).get("kind", "image") != "image":
        return {"skipped": "not an image"}
    directory = os.environ.get("THUMBNAILS_DIR") or context.path.parent / THUMBNAIL_DIR
    target = Path(directory) / f"{context.upload.id}.jpg"
    context.report(0.0, "making a thumbnail")
    result = await asyncio.to_thread(_make_thumbnail, context.path, target)
    context.report(1.0, "thumbnail made")
    return result


def _make_thumbnail(source: Path, target: Path) -> dict[str, Any]:
    target.parent.mkdir(exist_ok=True)
    try:
        image = Image.open(source)
    except UnidentifiedImageError:
        return {"skipped": "not an image"}
    with image:
        image.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))  # JPEG decodes at a smaller scale: much faster
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        small = _on_white(image)
    partial = target.with_suffix(".part")
    small.save(partial, "JPEG", quality=85)
    os.replace(partial, target)  # watchers never see half a file
    return {"path": str(target), "width": small.width, "height": small.height, "bytes": target.stat().st_size}


def _on_white(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: transparent parts become white rather than black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
