"""The browser demo pages: served at `/demo/` in front of the rest of the app, with tus-js-client and Uppy from npm."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.http.errors import error_response
from tusd_py.protocol.errors import TusError

DEMO_DIR = Path(__file__).parent
STATIC_DIR = DEMO_DIR / "static"
# Installed by `npm ci --prefix tusd_py/demo` (`make demo`): the page never loads code from anywhere else.
TUS_BUNDLE = DEMO_DIR / "node_modules" / "tus-js-client" / "dist" / "tus.min.js"
# Uppy's all-in-one browser bundle (Dashboard, Tus, XHRUpload, …) and its style, served at /demo/uppy.min.*.
UPPY_DIST = DEMO_DIR / "node_modules" / "uppy" / "dist"
UPPY_BUNDLES = {
    "uppy.min.js": (UPPY_DIST / "uppy.min.js", "text/javascript; charset=utf-8"),
    "uppy.min.css": (UPPY_DIST / "uppy.min.css", "text/css; charset=utf-8"),
}
PREFIX = "/demo/"

log = logging.getLogger("tusd_py.demo")

# The page talks only to its own origin; `ws:`/`wss:` because older browsers do not let 'self' cover WebSockets.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Download links may carry `?token=`: never hand them to another site.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSETS = {
    "demo.js": (STATIC_DIR / "demo.js", "text/javascript; charset=utf-8"),
    "demo.css": (STATIC_DIR / "demo.css", "text/css; charset=utf-8"),
    "uppy-demo.js": (STATIC_DIR / "uppy-demo.js", "text/javascript; charset=utf-8"),
}
# Uppy's Dashboard shows thumbnails of the picked files from blob: URLs.
UPPY_PAGE_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace("data:", "data: blob:")}
MISSING_BUNDLE = "/* tus-js-client is not installed: run `make demo` or `npm ci --prefix tusd_py/demo` and reload. */\n"


def install_hint() -> str:
    return f"run `npm ci --prefix {DEMO_DIR}` (or `make demo` in a source checkout), then reload the page"


class DemoPage:
    """Serves the page, its script, style and the tus-js-client bundle; everything else goes on to `app`.

    It sits in front of authentication: the page holds no data, and a browser must load it before it can
    send the credentials typed into it."""

    def __init__(
        self, app: ASGIApp, base_path: str, auth_scheme: str | None = None, tus_bundle: Path | None = None
    ) -> None:
        self.app = app
        self.base_path = base_path
        self.auth_scheme = auth_scheme or ""
        self.tus_bundle = tus_bundle or TUS_BUNDLE
        self.template = Template((STATIC_DIR / "index.html").read_text())
        self.uppy_template = Template((STATIC_DIR / "uppy.html").read_text())
        if not self.tus_bundle.is_file():
            log.warning("demo page: tus-js-client is missing at %s; %s", self.tus_bundle, install_hint())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response = self.respond(Request(scope), _route_path(scope))
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def respond(self, request: Request, path: str) -> Response | None:
        """The answer for a demo path, None for any other path."""
        redirects_home = path == "/" and self.base_path != "/"
        if not (redirects_home or path == PREFIX.rstrip("/") or path.startswith(PREFIX)):
            return None
        if request.method not in ("GET", "HEAD"):
            error = TusError(405, "method_not_allowed", "the demo page only answers GET and HEAD")
            return error_response(error, request)
        if redirects_home or path == PREFIX.rstrip("/"):
            # Relative, so it stays right under a mount path or a proxy prefix.
            return RedirectResponse("demo/", status_code=307)
        name = path[len(PREFIX) :]
        if name in ("", "index.html"):
            return self.index()
        if name == "tus.min.js":
            return self.tus_js()
        if name == "uppy.html":
            return self.uppy_page()
        if name in UPPY_BUNDLES:
            return self.uppy_bundle(*UPPY_BUNDLES[name])
        if name in ASSETS:
            file, media_type = ASSETS[name]
            return FileResponse(file, media_type=media_type, headers={"Cache-Control": "no-cache"})
        return error_response(TusError(404, "not_found", "no such file in the demo page"), request)

    def index(self) -> Response:
        installed = self.tus_bundle.is_file()
        tus_state = "installed" if installed else "missing"
        return self._page(self.template, installed, "tus-js-client", PAGE_HEADERS, tus_state=tus_state)

    def uppy_page(self) -> Response:
        installed = all(file.is_file() for file, _ in UPPY_BUNDLES.values())
        return self._page(self.uppy_template, installed, "Uppy", UPPY_PAGE_HEADERS)

    def _page(
        self, template: Template, installed: bool, bundle: str, headers: dict[str, str], **fields: str
    ) -> Response:
        if not installed:
            log.warning("demo page served without %s: %s", bundle, install_hint())
        page = template.substitute(
            # Relative to /demo/, so it holds under a mount path or a proxy prefix too.
            endpoint=html.escape(".." + self.base_path, quote=True),
            auth_scheme=html.escape(self.auth_scheme, quote=True),
            install_notice_hidden="hidden" if installed else "",
            **fields,
        )
        return HTMLResponse(page, headers=headers)

    def uppy_bundle(self, file: Path, media_type: str) -> Response:
        if not file.is_file():
            missing = f"/* Uppy is not installed: {install_hint()}. */\n"
            return PlainTextResponse(
                missing, status_code=404, media_type=media_type, headers={"Cache-Control": "no-cache"}
            )
        return FileResponse(file, media_type=media_type, headers={"Cache-Control": "no-cache"})

    def tus_js(self) -> Response:
        if not self.tus_bundle.is_file():
            return PlainTextResponse(
                MISSING_BUNDLE, status_code=404, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
            )
        return FileResponse(
            self.tus_bundle, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )


def _route_path(scope: Scope) -> str:
    """The path below the app's mount point."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path
