"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from tusd_py.protocol.errors import TusError
from tusd_py.storage.base import UploadStore


async def healthz(request: Request) -> JSONResponse:
    """The process answers: nothing more is checked."""
    return JSONResponse({"status": "ok"})


class Readiness:
    def __init__(self, store: UploadStore, checks: dict[str, Callable[[], Awaitable[object]]] | None = None) -> None:
        self.store = store
        self.checks = checks or {}

    async def readyz(self, request: Request) -> JSONResponse:
        """Ready when every dependency answers; 503 naming the failing ones otherwise."""
        results: dict[str, str] = {}
        try:
            await self.store.check_ready()
            results["storage"] = "ok"
        except TusError as error:
            results["storage"] = error.message
        for name, check in self.checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:  # any failure of a dependency means not ready
                results[name] = f"unreachable: {type(error).__name__}"
        failing = {name: result for name, result in results.items() if result != "ok"}
        if failing:
            raise TusError(503, "not_ready", f"not ready: {', '.join(failing)}", failing)
        return JSONResponse({"status": "ready", "checks": results})
