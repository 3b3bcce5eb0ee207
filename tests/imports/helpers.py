"""Starting an import and waiting for where it ends, by polling its progress URL (never a fixed sleep)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.live_server import LiveServer
from tests.support.waiting import eventually

SETTLED = {"completed", "processed", "failed"}


async def start_import(http: httpx.AsyncClient, server: LiveServer, url: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(server.endpoint + "imports", json={"url": url, **fields})
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def settled(http: httpx.AsyncClient, progress_url: str, timeout: float = 60.0) -> dict[str, Any]:
    """The snapshot once the import has finished, one way or the other."""
    latest: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal latest
        response = await http.get(progress_url)
        assert response.status_code == 200, response.text
        latest = response.json()
        return latest["status"] in SETTLED and latest["source"]["status"] != "importing"

    await eventually(done, timeout=timeout, every=0.05)
    return latest
