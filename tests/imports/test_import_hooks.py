"""A pre-create hook sees the URL an import names (as `source_url` metadata) and may refuse it."""

from __future__ import annotations

from pathlib import Path

import httpx

from tusd_py import create_app
from tusd_py.hooks.models import HookRequest, HookResponse
from tusd_py.settings import Settings


async def test_a_pre_create_hook_sees_the_url_and_may_refuse_it(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []

    def pre_create(request: HookRequest) -> HookResponse:
        seen.append(dict(request.upload.metadata))
        return HookResponse(reject_upload=True)

    app = create_app(Settings(upload_dir=tmp_path), hooks={"pre-create": pre_create})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/files/imports", json={"url": "http://93.184.216.34/report.pdf", "metadata": {"team": "a"}}
        )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "upload_rejected"
    assert seen == [{"team": "a", "source_url": "http://93.184.216.34/report.pdf", "filename": "report.pdf"}]
