"""`python -m soak`: start everything, run warm-up, chaos, resumption, slow clients and the checks, print the report,
take everything down. Exit status 0 when every invariant held."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from soak.balancer import Balancer
from soak.faults import Injector
from soak.hook_endpoint import HookEndpoint
from soak.invariants import (
    Verdict,
    check_leftovers,
    check_resources,
    check_responses,
    check_shutdown,
    check_streams,
    check_uploads,
)
from soak.ledger import Ledger
from soak.load import Load, Plan, settle
from soak.report import render, summary
from soak.slow import SlowFigures, slow_clients
from soak.topology import Topology

RESTART_WARM_UP = 10.0  # a restarted instance's figures are taken this long after it came up


@dataclass(frozen=True)
class Config:
    """One soak's size. `smoke()` is the minute-long one `make test` runs."""

    seconds: float
    plan: Plan
    disk_size: int
    warm_up: float
    fault_every: float
    tricklers: int
    subscribers: int
    measured_size: int
    seed: int

    @classmethod
    def full(cls, seconds: float, seed: int) -> Config:
        return cls(seconds, Plan(python_workers=24, node_workers=8, max_size=64 * 2**20), 2 * 2**30, 30.0, 20.0,
                   1000, 1000, 64 * 2**20, seed)

    @classmethod
    def smoke(cls, seconds: float, seed: int) -> Config:
        return cls(seconds, Plan(python_workers=6, node_workers=2, max_size=8 * 2**20), 512 * 2**20, 5.0, 1.0,
                   100, 100, 32 * 2**20, seed)


def say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def measure_baselines(topology: Topology, stop: asyncio.Event) -> None:
    """Figures of each (re)started instance once it has run a while under load."""
    while not stop.is_set():
        for instance in topology.instances:
            if instance.baseline is None and time.monotonic() - instance.started_at > RESTART_WARM_UP:
                instance.baseline = instance.figures()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def quiet(topology: Topology, timeout: float) -> None:
    """Until no lock is held in Redis (leases of killed holders run out) and no temp file is on disk."""
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(topology.redis.url) as client:
        while time.monotonic() < deadline:
            locks = list(client.scan_iter("*:lock:*"))
            temps = [name for name in topology.disk.files() if name.endswith(".tmp")]
            if not locks and not temps:
                return
            await asyncio.sleep(0.2)


async def run(config: Config, workdir: Path) -> dict[str, object]:
    rng = random.Random(config.seed)
    hooks = HookEndpoint()
    await hooks.start()
    topology = Topology(workdir, config.disk_size, hooks.url)
    ledger = Ledger(workdir / "sources")
    ledger.sources.mkdir(parents=True, exist_ok=True)
    balancer = Balancer(lambda: [instance.port for instance in topology.instances], rng)
    over = asyncio.Event()
    load: Load | None = None
    try:
        say(f"starting redis-server and 3 instances under {workdir} (seed {config.seed})")
        await asyncio.to_thread(topology.start)
        if not topology.disk_mounted:
            ledger.notes.append("no tmpfs (not root): the upload directory is a plain directory, no disk-full fault")
        await balancer.start()

        def ports() -> list[int]:
            return [instance.port for instance in topology.instances]

        load = Load(ports, balancer.endpoint, ledger, rng, workdir, config.plan, over)
        load.disk = topology.disk if topology.disk_mounted else None
        began = time.monotonic()
        stop_load, stop_faults, stop_baselines = asyncio.Event(), asyncio.Event(), asyncio.Event()
        load_task = asyncio.ensure_future(load.run(stop_load))
        say(f"warm-up {config.warm_up:.0f} s")
        await asyncio.sleep(config.warm_up)
        for instance in topology.instances:
            instance.baseline = instance.figures()
        baselines = asyncio.ensure_future(measure_baselines(topology, stop_baselines))
        injector = Injector(topology, hooks, ledger, rng)
        say(f"chaos {config.seconds:.0f} s")
        faults = asyncio.ensure_future(injector.run(stop_faults, config.fault_every))
        await asyncio.sleep(config.seconds)
        stop_faults.set()
        await faults
        injector.gather()
        say(f"{len(ledger.faults)} faults injected; letting the clients finish their current uploads")
        stop_load.set()
        await load_task
        failed = [upload for upload in ledger.uploads if upload.state in ("failed", "running")]
        say(f"resuming {len(failed)} uploads clients gave up on")
        await asyncio.gather(*(load.resume(upload) for upload in failed))
        chaos_seconds = time.monotonic() - began
        say(f"slow clients: {config.tricklers} trickling, {config.subscribers} idle subscribers")
        slow: SlowFigures | None = None
        try:
            slow = await slow_clients(ports, rng, ledger, load.client, config.tricklers, config.subscribers,
                                      config.measured_size)
        except Exception as error:  # a figure, not an invariant: say why it is missing
            ledger.notes.append(f"slow-client measurement failed: {error!r}")
        stop_baselines.set()
        await baselines
        await settle(load.followers, 30.0)
        over.set()
        await settle(load.followers, 15.0)
        say("checking invariants")
        verdict = Verdict()
        await check_uploads(verdict, ledger, load.client)
        check_streams(verdict, ledger)
        await quiet(topology, 30.0)
        check_leftovers(verdict, topology, ledger)
        await asyncio.sleep(2.0)  # closed connections' descriptors go back after the event loop's next turns
        names = {topology.redis.port: "redis", hooks.port: "the hook endpoint", balancer.port: "the balancer"}
        names.update({instance.port: instance.name for instance in topology.instances})
        resources = check_resources(verdict, topology, names)
        statuses = await asyncio.to_thread(topology.stop)
        check_shutdown(verdict, statuses)
        check_responses(verdict, ledger, topology.logs())
        return summary(ledger, verdict, chaos_seconds, slow, resources)
    finally:
        over.set()
        for task in load.followers if load else ():
            task.cancel()
        if load is not None:
            await load.close()
        await balancer.stop()
        await hooks.stop()
        await asyncio.to_thread(topology.cleanup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")),
                        help="length of the chaos phase (env SOAK_SECONDS; default 600)")
    parser.add_argument("--smoke", action="store_true", help="small load and slow-client crowd (the test's)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "0")) or None)
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    config = (Config.smoke if args.smoke else Config.full)(args.seconds, seed)
    workdir = Path(tempfile.mkdtemp(prefix="tusd-py-soak-"))
    try:
        data = asyncio.run(run(config, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"work directory kept: {workdir}")
    print(render(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))
    return 0 if data["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
