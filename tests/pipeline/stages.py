"""Stages the pipeline tests run in a real server: one that fails, one that logs when it ran, one that waits to be
let go. They share files with the test through the directory in PIPELINE_TEST_DIR."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from tusd_py.hooks.pipeline import StageContext

RUN_SECONDS = 0.3  # how long `timed` works: long enough that overlapping runs could not go unseen


def shared_dir() -> Path:
    return Path(os.environ["PIPELINE_TEST_DIR"])


async def fail(context: StageContext) -> dict[str, Any]:
    context.report(0.5, "reading")
    raise ValueError(f"cannot read {context.upload.metadata.get('filename', 'this file')}")


async def timed(context: StageContext) -> dict[str, Any]:
    """Works RUN_SECONDS and appends when it started and ended to `runs.jsonl`."""
    start = time.time()
    await asyncio.sleep(RUN_SECONDS)
    end = time.time()
    with (shared_dir() / "runs.jsonl").open("a") as runs:
        runs.write(json.dumps({"id": context.upload.id, "start": start, "end": end}) + "\n")
    return {"seconds": end - start}


async def gate(context: StageContext) -> dict[str, Any]:
    """Notes each start in `started-<id>`, then waits until the test creates `release-<id>`."""
    directory = shared_dir()
    with (directory / f"started-{context.upload.id}").open("a") as started:
        started.write(f"{os.getpid()}\n")
    context.report(0.5, "waiting to be let go")
    while not (directory / f"release-{context.upload.id}").exists():
        await asyncio.sleep(0.02)
    runs = len((directory / f"started-{context.upload.id}").read_text().splitlines())
    return {"released": True, "runs": runs, "pid": os.getpid()}


async def threaded(context: StageContext) -> dict[str, Any]:
    """Reports from a worker thread, as a stage doing its work in `asyncio.to_thread` does."""

    def work() -> int:
        for step in range(1, 6):
            time.sleep(0.02)  # the work of one step, during which the loop goes idle
            context.report(step / 5, f"step {step}")
        return 5

    return {"steps": await asyncio.to_thread(work)}
