"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from tusd_py.protocol.errors import TusError
from tusd_py.storage.base import UploadStore


async def healthz(request: Request) -> JSONResponse:
    """The process answers: nothing more is checked."""
    return JSONResponse({"status": "ok"})


class Readiness:
    def __init__(self, store: UploadStore) -> None:
        self.store = store

    async def readyz(self, request: Request) -> JSONResponse:
        """Ready when every dependency answers; 503 with the failing check otherwise."""
        try:
            await self.store.check_ready()
        except TusError as error:
            raise TusError(503, "not_ready", "storage is not usable", {"storage": error.message}) from None
        return JSONResponse({"status": "ready", "checks": {"storage": "ok"}})
