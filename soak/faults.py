"""Faults injected at random times while the load runs: instances killed, stopped gracefully or frozen; Redis stopped
and started again (empty, as after a crash); the disk filled by ballast; the hook endpoint failing or hanging.
(Clients that drop or stall mid-body are part of the load.) Each fault is recorded with the uploads it hit."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time

from soak.hook_endpoint import HookEndpoint
from soak.invariants import GRACEFUL
from soak.ledger import Fault, Ledger
from soak.topology import Instance, Topology

KINDS = ("sigkill", "sigterm", "sigstop", "redis-restart", "disk-full", "hook-fail", "hook-hang")
FAULT_SECONDS = (2.0, 5.0)  # how long a freeze, an outage, a full disk or a bad hook endpoint lasts


class Injector:
    def __init__(self, topology: Topology, hooks: HookEndpoint, ledger: Ledger, rng: random.Random) -> None:
        self.topology = topology
        self.hooks = hooks
        self.ledger = ledger
        self.rng = rng
        self.restarted: list[Instance] = []  # instances started again, whose resources are measured afresh
        self.pending: list[tuple[Fault, int | None]] = []  # faults whose hit uploads are still to be gathered

    def gather(self) -> None:
        """Add to each fault the uploads whose requests failed while it lasted (once the grace period is over)."""
        for fault, port in self.pending:
            fault.affected |= self.ledger.hit_by(fault, port)
        self.pending.clear()

    def kinds(self) -> list[str]:
        return [kind for kind in KINDS if kind != "disk-full" or self.topology.disk_mounted]

    async def run(self, stop: asyncio.Event, every: float) -> None:
        """Every kind once first (in random order), then random kinds, a random pause of about `every` between."""
        first = self.kinds()
        self.rng.shuffle(first)
        while not stop.is_set() or first:  # every kind at least once, however short the soak
            kind = first.pop() if first else self.rng.choice(self.kinds())
            await self.inject(kind)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.uniform(0.5 * every, 1.5 * every))

    async def inject(self, kind: str) -> Fault:
        instance = self.rng.choice(self.topology.instances)
        on_instance = kind in ("sigkill", "sigterm", "sigstop")
        target = instance.name if on_instance else kind.split("-")[0]
        fault = Fault(kind, target, time.monotonic())
        fault.affected = self.ledger.affected(instance.port if on_instance else None)
        self.ledger.faults.append(fault)
        hold = self.rng.uniform(*FAULT_SECONDS)
        await getattr(self, "_" + kind.replace("-", "_"))(instance, hold, fault)
        fault.until = time.monotonic()
        self.pending.append((fault, instance.port if on_instance else None))
        return fault

    async def _sigkill(self, instance: Instance, hold: float, fault: Fault) -> None:
        await asyncio.to_thread(instance.kill)
        await self._restart(instance)

    async def _sigterm(self, instance: Instance, hold: float, fault: Fault) -> None:
        status = await asyncio.to_thread(instance.stop)
        if status not in GRACEFUL:
            fault.note = f"exit status {status} after SIGTERM (None: killed past the shutdown timeout)"
            self.ledger.notes.append(f"{instance.name}: {fault.note}")
        await self._restart(instance)

    async def _restart(self, instance: Instance) -> None:
        """Start it again; on a loaded machine a start can be slow or fail: kill what came up and try again."""
        for attempt in range(3):
            try:
                await asyncio.to_thread(instance.start)
                break
            except RuntimeError as error:
                self.ledger.notes.append(f"{instance.name}: restart attempt {attempt + 1} failed: {error}")
                await asyncio.to_thread(instance.kill)
        self.restarted.append(instance)

    async def _sigstop(self, instance: Instance, hold: float, fault: Fault) -> None:
        instance.signal(signal.SIGSTOP)
        await asyncio.sleep(hold)
        instance.signal(signal.SIGCONT)

    async def _redis_restart(self, instance: Instance, hold: float, fault: Fault) -> None:
        await asyncio.to_thread(self.topology.redis.stop)
        await asyncio.sleep(hold)
        await asyncio.to_thread(self.topology.redis.start)

    async def _disk_full(self, instance: Instance, hold: float, fault: Fault) -> None:
        await asyncio.to_thread(self.topology.disk.fill)
        await asyncio.sleep(hold)
        await asyncio.to_thread(self.topology.disk.empty)

    async def _hook_fail(self, instance: Instance, hold: float, fault: Fault) -> None:
        await self._hooks("fail", hold)

    async def _hook_hang(self, instance: Instance, hold: float, fault: Fault) -> None:
        await self._hooks("hang", hold)

    async def _hooks(self, mode: str, hold: float) -> None:
        self.hooks.mode = mode
        await asyncio.sleep(hold)
        self.hooks.mode = "ok"
