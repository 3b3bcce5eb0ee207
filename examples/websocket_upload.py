"""Upload a file to tusd_py over its upload socket (`<endpoint>upload`), resuming an earlier upload when given its id.

    pip install websockets
    python examples/websocket_upload.py photo.jpg --endpoint ws://127.0.0.1:1080/files/upload
    python examples/websocket_upload.py photo.jpg --resume <upload id>

It keeps to the server's window (never more bytes in flight than the server allows beyond what it acknowledged as
stored) and prints each acknowledgement and stage to stderr. The upload's URL goes to stdout. With auth on, pass
--api-key (sent as X-API-Key). The messages are described in docs/websocket-upload.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any, BinaryIO

import websockets


class UploadFailed(Exception):
    pass


async def upload(path: Path, endpoint: str, headers: dict[str, str], resume: str | None = None) -> dict[str, Any]:
    """Send `path` (from the stored offset when resuming) and return the server's `success` data."""
    size = path.stat().st_size
    with path.open("rb") as file:
        return await _send(file, size, path.name, endpoint, headers, resume)


async def _send(
    file: BinaryIO, size: int, name: str, endpoint: str, headers: dict[str, str], resume: str | None
) -> dict[str, Any]:
    async with websockets.connect(endpoint, additional_headers=headers, max_size=None) as ws:

        async def receive() -> dict[str, Any]:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] == "error":
                raise UploadFailed(f"{message['error_code']}: {message['error_message']}")
            return message

        await receive()  # the greeting
        if resume:
            await ws.send(json.dumps({"type": "resume", "upload_id": resume}))
        else:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            create = {"type": "create", "size": size, "filename": name, "content_type": content_type}
            await ws.send(json.dumps(create))
        ready = await receive()
        print(f"{ready['status']}: {ready['url']} at {ready['offset']} of {size} bytes", file=sys.stderr)
        acknowledged = sent = ready["offset"]
        file.seek(sent)
        while True:
            while sent < size and sent - acknowledged < ready["window"]:
                piece = file.read(min(ready["max_frame_size"], acknowledged + ready["window"] - sent))
                await ws.send(piece)
                sent += len(piece)
            message = await receive()
            if message["type"] == "progress":
                acknowledged = message["offset"]
                print(message["message"], file=sys.stderr)
            elif message["type"] == "status" and message["status"] == "processing":
                print(f"processing: {message['stage']} {message['message']}", file=sys.stderr)
            elif message["type"] == "success":
                data: dict[str, Any] = message["data"]
                return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--endpoint", default="ws://127.0.0.1:1080/files/upload")
    parser.add_argument("--resume", metavar="UPLOAD_ID", help="continue this upload instead of creating one")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    try:
        data = asyncio.run(upload(args.file, args.endpoint, headers, args.resume))
    except (UploadFailed, OSError, websockets.WebSocketException) as error:
        print(f"upload failed: {error}", file=sys.stderr)
        return 1
    print(f"server says: {data['status']}, {data['size']} bytes, {data['content_type']}", file=sys.stderr)
    print(data["url"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
