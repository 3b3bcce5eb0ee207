"""tuspyserver (PyPI) mounted in a FastAPI app, run by the benchmark under uvicorn from its own venv.

Configured as generously as it allows: a 1 TiB size limit, so one PATCH can carry a whole file.
The upload directory comes from TUSPYSERVER_FILES_DIR.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from tuspyserver import create_tus_router

app = FastAPI()
app.include_router(create_tus_router(prefix="files", files_dir=os.environ["TUSPYSERVER_FILES_DIR"], max_size=2**40))
