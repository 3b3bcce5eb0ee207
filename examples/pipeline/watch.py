"""Upload one file to a tusd_py server and print, line by line, what the server reports until it is processed.

    python -m examples.pipeline.watch photo.png --endpoint http://127.0.0.1:1080/files/

It follows the upload's own WebSocket (`<upload url>/events`): the upload's progress, then each pipeline stage
with its progress, then the result. Exits 0 once processed, 1 if a stage failed, 2 if the upload was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

import httpx
import websockets

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 4 * 1024 * 1024
ENDINGS = {"processed": 0, "failed": 1, "terminated": 1, "expired": 1}


def metadata_header(path: Path) -> str:
    pairs = {"filename": path.name, "filetype": mimetypes.guess_type(path.name)[0] or "application/octet-stream"}
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


def describe(event: dict[str, Any]) -> str:
    kind = event["type"]
    if kind == "progress":
        return f"uploading   {event['percentage']:5.1f}%  {event['message']}"
    if kind == "processing":
        share = event.get("stage_progress")
        done = f"{100 * share:5.1f}%" if share is not None else "   ..."
        return f"processing  {done}  {event['stage']}: {event['message']}"
    if kind == "processed":
        return "processed   " + json.dumps(event["result"], indent=2).replace("\n", "\n            ")
    if kind == "failed":
        return f"failed      stage {event.get('stage')}: {event['error_code']}: {event['error_message']}"
    return f"{kind:<11} {event['message']}"


async def follow(events_url: str, connected: asyncio.Event) -> int:
    async with websockets.connect(events_url) as stream:
        connected.set()
        async for message in stream:
            event = json.loads(message)
            print(describe(event), flush=True)
            if event["type"] in ENDINGS:
                return ENDINGS[event["type"]]
    return 1  # the server closed the stream before saying how it ended


async def send(http: httpx.AsyncClient, url: str, path: Path) -> None:
    offset = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            headers = {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            response = await http.patch(url, content=chunk, headers=headers)
            response.raise_for_status()
            offset += len(chunk)


async def upload_and_watch(path: Path, endpoint: str) -> int:
    async with httpx.AsyncClient(timeout=60) as http:
        size = path.stat().st_size
        headers = {**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata_header(path)}
        created = await http.post(endpoint, headers=headers)
        if created.status_code != 201:
            print(f"refused: {created.status_code} {created.text}", file=sys.stderr)
            return 2
        url = created.headers["Location"]
        print(f"upload      {url}", flush=True)
        connected = asyncio.Event()
        watching = asyncio.create_task(follow(url.replace("http", "ws", 1) + "/events", connected))
        waiter = asyncio.ensure_future(connected.wait())  # subscribe before sending, so no event is missed
        await asyncio.wait({watching, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if size:
            await send(http, url, path)
        return await watching


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", type=Path)
    parser.add_argument("--endpoint", default="http://127.0.0.1:1080/files/")
    args = parser.parse_args()
    return asyncio.run(upload_and_watch(args.file, args.endpoint))


if __name__ == "__main__":
    sys.exit(main())
