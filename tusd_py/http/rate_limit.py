"""Per-user request rate limits: a token bucket per user (or per address without auth); 429 with Retry-After."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tusd_py.auth.principal import SCOPE_KEY, Principal
from tusd_py.http.errors import error_response
from tusd_py.protocol.errors import TusError

MAX_BUCKETS = 100_000


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last refill)

    def _key(self, scope: Scope) -> str:
        principal = scope.get(SCOPE_KEY)
        if isinstance(principal, Principal):
            return "owner:" + principal.owner
        client = scope.get("client")
        return "address:" + (client[0] if client else "unknown")

    def take(self, key: str, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            wait = self.take(self._key(scope), time.monotonic())
            if wait > 0:
                error = TusError(
                    429,
                    "rate_limited",
                    f"more than {self.rate:g} requests per second; retry in {math.ceil(wait)}s",
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                await error_response(error, Request(scope))(scope, receive, send)
                return
        await self.app(scope, receive, send)
