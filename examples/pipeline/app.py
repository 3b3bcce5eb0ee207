"""The pipeline example embedded from Python: `create_app(pipeline=[...])` runs the three stages after each upload.

Run it (from the repository's root) with:

    uvicorn examples.pipeline.app:app --port 1080

then upload a file and watch each stage as the server reports it:

    python -m examples.pipeline.watch photo.png --endpoint http://127.0.0.1:1080/files/

Uploads go to TUSD_PY_UPLOAD_DIR (default `data/`); thumbnails to `<upload dir>/_thumbnails/`.
"""

from __future__ import annotations

from examples.pipeline.stages import digests, inspect, thumbnail
from tusd_py import Settings, create_app
from tusd_py.hooks.pipeline import Stage

STAGES = [Stage("digests", digests), Stage("inspect", inspect), Stage("thumbnail", thumbnail)]

app = create_app(Settings.from_env(), pipeline=STAGES)
