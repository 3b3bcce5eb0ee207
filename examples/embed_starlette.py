"""tusd_py mounted inside a Starlette application: uploads live under /uploads/files/.

Run it with:  uvicorn examples.embed_starlette:app --port 8000
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tusd_py import Settings, create_app

tus_app = create_app(Settings(upload_dir="data/embedded", max_size=2 * 2**30))


async def home(request: Request) -> JSONResponse:
    return JSONResponse({"upload_endpoint": str(request.url_for("uploads", path="/files/"))})


app = Starlette(routes=[Route("/", home), Mount("/uploads", app=tus_app, name="uploads")])
