"""Authentication for every HTTP request and WebSocket: the principal lands in the scope, or the request is refused."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.auth.principal import SCOPE_KEY, Authenticator, unauthenticated
from tusd_py.http.errors import error_response
from tusd_py.protocol.errors import TusError

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CLOSE_UNAUTHENTICATED = 4401


class AuthMiddleware:
    """OPTIONS (CORS preflights, tus discovery) and the health routes need no credentials; all else does."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, scheme: str) -> None:
        self.app = app
        self.authenticator = authenticator
        self.scheme = scheme

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_public(scope):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator(HTTPConnection(scope))
            if principal is None:
                raise unauthenticated("credentials are required", self.scheme)
        except TusError as error:
            await self._refuse(scope, receive, send, error)
            return
        scope[SCOPE_KEY] = principal
        scope["tusd_py.owner"] = principal.owner
        await self.app(scope, receive, send)

    def _is_public(self, scope: Scope) -> bool:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            return True
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path in PUBLIC_PATHS

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: TusError) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED, "reason": error.message[:120]})
            return
        await error_response(error, Request(scope))(scope, receive, send)
