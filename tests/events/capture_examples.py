"""Print one real example of every event-related message, captured from real servers, for docs/events.md.

.venv/bin/python -m tests.events.capture_examples
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.events.clients import (
    Multiplexed,
    WsFollower,
    create,
    events_path,
    follow_ws,
    following,
    paced,
    patch,
    upload,
    ws_url,
)
from tests.events.conftest import start_server
from tests.support.live_server import LiveServer
from tests.support.tus import TUS, payload, upload_id

KiB = 1024


def show(title: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, indent=2)
    print(f"### {title}\n{text}\n")


async def one_upload(server: LiveServer, http: httpx.AsyncClient) -> None:
    length = 40 * 256 * KiB
    url = await create(http, server, length, {"filename": "photo.jpg", "filetype": "image/jpeg", "batch": "holiday"})
    follower = WsFollower()
    task = await following(follower, ws_url(server, events_path(url)))
    sending = asyncio.create_task(patch(http, url, 0, paced(payload(length), 256 * KiB, 0.05)))
    while (snapshot := (await http.get(f"{url}/progress")).json())["offset"] < length // 3:
        await asyncio.sleep(0.05)  # until a third has arrived: a snapshot with speed and ETA
    show("snapshot while uploading", snapshot)
    await sending
    await task
    for kind in ("created", "progress", "completed"):
        moving = [e for e in follower.events if e["type"] == kind and (kind != "progress" or e["eta_seconds"])]
        show(f"event {kind}", moving[0] if moving else [e for e in follower.events if e["type"] == kind][-1])
    show("websocket close", {"code": follower.close_code, "reason": follower.close_reason})
    show("snapshot when completed", (await http.get(f"{url}/progress")).json())
    async with httpx.AsyncClient() as raw, raw.stream("GET", f"{url}/events") as response:
        show("sse body after completion", (await response.aread()).decode())


async def batch(server: LiveServer, http: httpx.AsyncClient) -> None:
    done = await create(http, server, 100, {"filename": "a.txt", "batch": "reports", "batch_total": "2"})
    dropped = await create(http, server, 100, {"filename": "b.txt", "batch": "reports", "batch_total": "2"})
    follower = WsFollower()
    task = await following(follower, ws_url(server, "batches/reports/events"))
    await upload(http, done, payload(100))
    show("summary while open", (await http.get(f"{server.endpoint}batches/reports")).json())
    await http.delete(dropped, headers=TUS)
    await task
    show("event batch-progress", [e for e in follower.events if e["type"] == "batch-progress"][-1])
    show("event terminated", next(e for e in follower.events if e["type"] == "terminated"))
    show("event batch-completed", follower.events[-1])
    show("batch summary", (await http.get(f"{server.endpoint}batches/reports")).json())
    show("listing", (await http.get(server.endpoint, params={"batch": "reports", "limit": 1})).json())


async def multiplexed(server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, server, 10)
    async with websockets.connect(ws_url(server, "events")) as ws:
        mux = Multiplexed(ws)
        for message in (
            {"action": "subscribe", "upload_id": upload_id(url)},
            {"action": "subscribe", "batch": "reports", "since": 0},
            {"action": "unsubscribe", "batch": "reports"},
            {"action": "ping"},
            {"action": "get_stats"},
            "not json",
            {"action": "dance"},
            {"action": "subscribe"},
            {"action": "subscribe", "upload_id": "0123456789abcdef0123456789abcdef"},
        ):
            reply = await mux.request(message)
            show(f"reply to {json.dumps(message)}", reply)
    unknown = await follow_ws(ws_url(server, "0123456789abcdef0123456789abcdef/events"))
    show(
        "per-upload websocket, unknown upload",
        {"messages": unknown.events, "code": unknown.close_code, "reason": unknown.close_reason},
    )


async def expired(server: LiveServer, http: httpx.AsyncClient) -> None:
    url = await create(http, server, 100, {"filename": "stale.bin"})
    follower = await follow_ws(ws_url(server, events_path(url)), stop_after=lambda e: e["type"] == "expired")
    show("event expired", follower.events[-1])


async def refusals(server: LiveServer, http: httpx.AsyncClient, limit: str) -> None:
    async with websockets.connect(ws_url(server, "events")) as ws:
        await ws.send(json.dumps({"action": "ping"}))
        await ws.recv()
        refused = await follow_ws(ws_url(server, "events"))
        show(f"refused websocket ({limit})", {"code": refused.close_code, "reason": refused.close_reason})
        response = await http.get(f"{server.endpoint}events")
        body = response.json()
        show(
            f"refused sse ({limit})",
            {"status": response.status_code, "retry-after": response.headers.get("retry-after"), "body": body},
        )


async def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        servers = [
            start_server(Path(root) / "a", "--progress-interval", "500ms"),
            start_server(Path(root) / "b", "--expire-after", "1s", "--sweep-interval", "1s"),
            start_server(Path(root) / "c", "--max-event-connections", "2", "--max-event-connections-per-user", "1"),
            start_server(Path(root) / "d", "--max-event-connections", "1"),
        ]
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await one_upload(servers[0], http)
                await batch(servers[0], http)
                await multiplexed(servers[0], http)
                await expired(servers[1], http)
                await refusals(servers[2], http, "per user")
                await refusals(servers[3], http, "in total")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    asyncio.run(main())
