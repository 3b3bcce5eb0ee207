"""tusd_py mounted inside a FastAPI application: uploads live under /uploads/files/, next to the app's own routes.

Run it with:  uvicorn examples.embed_fastapi:app --port 8000
Then:         curl http://127.0.0.1:8000/                       (the app's own JSON route names the endpoint)
              curl -i -X POST http://127.0.0.1:8000/uploads/files/ -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 5'
Any tus client (tus-js-client, Uppy, tuspy) uploads to http://127.0.0.1:8000/uploads/files/, and a GET on the
Location it gets back downloads the finished file. Uploads are stored in ./data/fastapi.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request

from tusd_py import Settings, create_app

tus_app = create_app(Settings(upload_dir=Path("data/fastapi"), max_size=2 * 2**30))

app = FastAPI(title="tusd_py inside FastAPI")


@app.get("/")
async def home(request: Request) -> dict[str, str]:
    return {"upload_endpoint": str(request.url_for("uploads", path="/files/"))}


# Mounted, the tus app sees /uploads as its root_path, so every URL it hands out carries it.
app.mount("/uploads", tus_app, name="uploads")
