"""Per-user request rate limits: a token bucket per user (or per address without auth); 429 with Retry-After."""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.auth.principal import SCOPE_KEY, Principal
from tusd_py.http.errors import refuse
from tusd_py.http.token_buckets import TokenBuckets
from tusd_py.protocol.errors import TusError


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self.buckets = TokenBuckets(rate, burst)

    def _key(self, scope: Scope) -> str:
        principal = scope.get(SCOPE_KEY)
        if isinstance(principal, Principal):
            return "owner:" + principal.owner
        client = scope.get("client")
        return "address:" + (client[0] if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = scope["type"] == "websocket" or (scope["type"] == "http" and scope["method"] != "OPTIONS")
        if counted:
            wait = self.buckets.take(self._key(scope), time.monotonic())
            if wait > 0:
                error = TusError(
                    429,
                    "rate_limited",
                    f"more than {self.rate:g} requests per second; retry in {math.ceil(wait)}s",
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                await refuse(error, scope, receive, send)
                return
        await self.app(scope, receive, send)
