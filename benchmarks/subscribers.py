"""Event subscribers for the latency figure: many WebSockets on one upload's event stream, each arrival timed.

    python -m benchmarks.subscribers --url ws://127.0.0.1:PORT/files/ID/events --count N

Prints `ready` once every socket has received its first event (the stream opens with the upload's latest
event), then follows the streams until the server closes them after `completed`, and prints one JSON line:
{"arrivals": [[[monotonic_ns, offset], …] for each subscriber], "errors": [...]}. Several of these processes
share the subscribers so that reading 1,000 sockets does not make the client the slow part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CONNECT_AT_ONCE = 64


async def open_subscriber(url: str, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        websocket = await connect(url, open_timeout=60, max_queue=None)
        await websocket.recv()  # the upload's latest event: the stream is live from here on
        return websocket


async def follow(websocket: ClientConnection, arrivals: list[tuple[int, int]]) -> None:
    try:
        while True:
            message = await websocket.recv()
            arrived = time.monotonic_ns()
            event = json.loads(message)
            if event.get("type") == "progress":
                arrivals.append((arrived, int(event["offset"])))
    except ConnectionClosed:
        return


async def run(url: str, count: int, timeout: float) -> dict[str, object]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    sockets = await asyncio.gather(*(open_subscriber(url, gate) for _ in range(count)))
    print("ready", flush=True)
    arrivals: list[list[tuple[int, int]]] = [[] for _ in sockets]
    errors: list[str] = []
    followers = [follow(ws, record) for ws, record in zip(sockets, arrivals, strict=True)]
    try:
        await asyncio.wait_for(asyncio.gather(*followers), timeout)
    except TimeoutError:
        errors.append(f"streams still open after {timeout}s")
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"arrivals": arrivals, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.url, args.count, args.timeout))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
