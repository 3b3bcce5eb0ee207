"""Serving tusd_py under a path prefix of a host application that mounts ASGI apps its own way (or not at all).

tusd_py finds its mount the way Starlette does: `scope["root_path"]` names the prefix and `scope["path"]` is the
whole path, prefix included. Every URL it hands out (Location, event and download links, the demo page's) is
built from that. Starlette and FastAPI mounts already pass such a scope; these adapters make one for the others.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send


def _clean_prefix(prefix: str) -> str:
    if not prefix.startswith("/") or prefix == "/":
        raise ValueError(f"a mount prefix starts with / and names a path, like /uploads (got {prefix!r})")
    return prefix.rstrip("/")


def _under(scope: Scope, prefix: str) -> Scope:
    return {**scope, "root_path": scope.get("root_path", "") + prefix}


class PrefixDispatch:
    """One ASGI application out of two: requests under `prefix` go to `app`, all others to `fallback`.

    For hosts that route no ASGI apps themselves, like Django: `PrefixDispatch("/uploads", tus_app,
    get_asgi_application())`. Lifespan events go to `app` only (Django refuses them; tusd_py stops its
    background work cleanly on them)."""

    def __init__(self, prefix: str, app: ASGIApp, fallback: ASGIApp) -> None:
        self.prefix = _clean_prefix(prefix)
        self.app = app
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        mounted = scope.get("root_path", "") + self.prefix
        path: str = scope["path"]
        if path == mounted or path.startswith(mounted + "/"):
            await self.app(_under(scope, self.prefix), receive, send)
            return
        await self.fallback(scope, receive, send)


class RestoredPrefix:
    """`app` as a mounted app of a host that cuts the mount's prefix off `scope["path"]` and leaves `root_path`
    alone, like Litestar's `@asgi(prefix, is_mount=True)`: the prefix moves back into the path and into
    `root_path`, so the URLs tusd_py hands out keep it.

    The path is the one the client sent (`raw_path`, which such hosts leave alone) when the server gives it:
    Litestar also appends a slash to what remains, and `/files/<id>/` names no upload."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = _clean_prefix(prefix)
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        root: str = scope.get("root_path", "")
        mounted = root + self.prefix
        path = mounted + scope["path"]
        raw_path = scope.get("raw_path")
        if raw_path:
            sent = root + unquote(raw_path.decode("ascii", "replace"))
            if sent == mounted or sent.startswith(mounted + "/"):
                path = sent
        await self.app({**_under(scope, self.prefix), "path": path}, receive, send)
