"""Progress you can poll: one upload's snapshot, and the caller's uploads with status counts."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tusd_py.auth.principal import principal_of
from tusd_py.events.batches import batch_of
from tusd_py.events.bus import EventBus
from tusd_py.events.publisher import EventPublisher
from tusd_py.events.snapshot import STATUSES, status_of, upload_snapshot
from tusd_py.http.urls import PublicURLs
from tusd_py.protocol.errors import TusError, upload_not_found
from tusd_py.protocol.ids import is_valid_upload_id
from tusd_py.protocol.info import UploadInfo
from tusd_py.uploads.service import UploadService

MAX_PAGE = 500


class ProgressRoutes:
    def __init__(self, service: UploadService, bus: EventBus, publisher: EventPublisher, urls: PublicURLs) -> None:
        self.service = service
        self.bus = bus
        self.publisher = publisher
        self.urls = urls

    def routes(self, collection_paths: list[str]) -> list[Route]:
        upload = self.urls.base_path + "{upload_id}/progress"
        return [
            Route(upload, self.progress, methods=["GET"]),
            *(Route(path, self.listing, methods=["GET"]) for path in collection_paths),
        ]

    async def snapshot(self, request: Request, info: UploadInfo) -> dict[str, Any]:
        speed, eta = self.publisher.speed_and_eta(info)
        latest = await self.bus.latest(f"upload:{info.id}")
        return upload_snapshot(
            info,
            url=self.urls.upload_url(request, info.id),
            status=status_of(info, latest),
            speed=speed,
            eta=eta,
            expires_at=info.expires_at(self.service.limits.expire_after),
            now=self.service.clock(),
        )

    async def progress(self, request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        if not is_valid_upload_id(upload_id):
            raise upload_not_found(upload_id)
        info = await self.service.load(upload_id, principal_of(request))
        return JSONResponse(await self.snapshot(request, info), headers={"Cache-Control": "no-store"})

    async def listing(self, request: Request) -> Response:
        """`?status=…&batch=…&limit=…&offset=…`: newest first, with counts by status over every match."""
        status_filter = request.query_params.get("status")
        if status_filter is not None and status_filter not in STATUSES:
            raise TusError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
        batch = request.query_params.get("batch")
        limit = _bounded_int(request, "limit", 50, 1, MAX_PAGE)
        offset = _bounded_int(request, "offset", 0, 0, 10**9)
        principal = principal_of(request)
        owner = principal.owner if principal is not None and not principal.admin else None
        rows: list[tuple[float, str, UploadInfo, str]] = []
        counts: Counter[str] = Counter()
        async for info in self.service.store.iter_infos():
            if owner is not None and info.owner != owner:
                continue
            if batch is not None and batch_of(info) != batch:
                continue
            status = status_of(info, await self.bus.latest(f"upload:{info.id}"))
            counts[status] += 1
            if status_filter is None or status == status_filter:
                rows.append((info.created_at, info.id, info, status))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        page = [await self.snapshot(request, info) for _, _, info, _ in rows[offset : offset + limit]]
        return JSONResponse(
            {
                "uploads": page,
                "total": len(rows),
                "offset": offset,
                "limit": limit,
                "counts": {status: counts.get(status, 0) for status in STATUSES},
            },
            headers={"Cache-Control": "no-store"},
        )


def _bounded_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise TusError(400, "invalid_query", f"{name} must be a whole number from {low} to {high}", {name: text[:30]})
    return int(text)
