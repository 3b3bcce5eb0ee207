"""tusd_py mounted inside a Litestar application: uploads live under /uploads/files/, next to the app's own routes.

Run it with:  uvicorn examples.embed_litestar:app --port 8000
Then:         curl http://127.0.0.1:8000/                       (the app's own JSON route names the endpoint)
Any tus client uploads to http://127.0.0.1:8000/uploads/files/. Uploads are stored in $TUSD_PY_UPLOAD_DIR
(./data/uploads unless set), like every other TUSD_PY_* setting read from the environment.
"""

from __future__ import annotations

from litestar import Litestar, Request, get
from litestar.handlers import asgi
from litestar.types import Receive, Scope, Send

from tusd_py import Settings, create_app
from tusd_py.http.mount import RestoredPrefix

PREFIX = "/uploads"

tus_app = create_app(Settings.from_env())
# Litestar hands a mounted app the path with the mount cut off; tusd_py needs it whole to build its URLs.
mounted_tus = RestoredPrefix(PREFIX, tus_app)


@asgi(PREFIX, is_mount=True, copy_scope=True)
async def uploads(scope: Scope, receive: Receive, send: Send) -> None:
    await mounted_tus(scope, receive, send)  # type: ignore[arg-type]


@get("/")
async def home(request: Request) -> dict[str, str]:  # type: ignore[type-arg]
    return {"upload_endpoint": str(request.base_url).rstrip("/") + PREFIX + "/files/"}


# tusd_py's lifespan starts its background work (the expiry sweep, event fan-out) and stops it cleanly.
app = Litestar(route_handlers=[home, uploads], lifespan=[lambda _app: tus_app.router.lifespan_context(tus_app)])
