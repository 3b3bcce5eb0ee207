"""Authentication for every HTTP request and WebSocket: the principal lands in the scope, or the request is refused."""

from __future__ import annotations

import math
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.auth.principal import SCOPE_KEY, Authenticator, unauthenticated
from tusd_py.http.errors import refuse
from tusd_py.http.token_buckets import TokenBuckets
from tusd_py.protocol.errors import TusError

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AuthMiddleware:
    """OPTIONS (CORS preflights, tus discovery) and the health routes need no credentials; all else does."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, scheme: str, failures_per_minute: int = 0) -> None:
        self.app = app
        self.authenticator = authenticator
        self.scheme = scheme
        # Refused authentications per client address: guessing keys or tokens is slowed down to this pace.
        self.failures = TokenBuckets(failures_per_minute / 60, failures_per_minute) if failures_per_minute else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_public(scope):
            await self.app(scope, receive, send)
            return
        address = _address(scope)
        try:
            self._check_failures(address)
            principal = await self.authenticator(HTTPConnection(scope))
            if principal is None:
                raise unauthenticated("credentials are required", self.scheme)
        except TusError as error:
            if error.status == 401 and self.failures is not None:
                self.failures.take(address, time.monotonic())
            await refuse(error, scope, receive, send)
            return
        scope[SCOPE_KEY] = principal
        scope["tusd_py.owner"] = principal.owner
        await self.app(scope, receive, send)

    def _check_failures(self, address: str) -> None:
        wait = self.failures.wait(address, time.monotonic()) if self.failures is not None else 0
        if wait > 0:
            seconds = math.ceil(wait)
            raise TusError(
                429,
                "too_many_failed_authentications",
                f"too many refused credentials from this address; retry in {seconds}s",
                headers={"Retry-After": str(seconds)},
            )

    def _is_public(self, scope: Scope) -> bool:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            return True
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path in PUBLIC_PATHS


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"
