"""`python -m benchmarks`: start the servers side by side, run the scenarios, print the table, write the JSON."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

from benchmarks.clients import BenchError, NotPossible
from benchmarks.report import Results, tables, targets, targets_text, to_json, write_json
from benchmarks.s3 import SERVICE as S3
from benchmarks.scenarios import ALL_SCENARIOS, FULL, QUICK, Context, Scenario, Sizes
from benchmarks.servers import ALL_SERVERS, ROOT, RunningServer, ServerKind, start_server
from benchmarks.workspace import Workspace


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    scenario_keys = [s.key for s in ALL_SCENARIOS]
    server_keys = [s.key for s in ALL_SERVERS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every scenario")
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario; figures are medians (default 3)")
    parser.add_argument(
        "--only",
        default=",".join(scenario_keys),
        help=f"comma-separated scenarios (default all: {','.join(scenario_keys)})",
    )
    parser.add_argument(
        "--servers",
        default=",".join(server_keys),
        help=f"comma-separated servers (default all: {','.join(server_keys)})",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/<UTC timestamp>.json)")
    parser.add_argument("--tmp", default="/tmp", help="where the run's scratch directory is made (default /tmp)")
    args = parser.parse_args(argv)
    args.scenarios = _pick(args.only, {s.key: s for s in ALL_SCENARIOS}, parser, "scenario")
    args.kinds = _pick(args.servers, {s.key: s for s in ALL_SERVERS}, parser, "server")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _pick(text: str, known: dict[str, Any], parser: argparse.ArgumentParser, what: str) -> list[Any]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        parser.error(f"unknown {what}: {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}")
    return [known[k] for k in known if k in keys]  # the suite's own order


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Bench:
    """One benchmark run: owns every process and file it starts, and ends them all in `close()`."""

    def __init__(self, sizes: Sizes, kinds: list[ServerKind], runs: int, tmp: str) -> None:
        self.sizes = sizes
        self.kinds = kinds
        self.runs = runs
        self.results = Results(list(kinds))
        self.workspace = Workspace(tmp)
        self.running: list[RunningServer] = []
        self.data_fd = -1

    def close(self) -> None:
        for server in self.running:
            server.stop()
        self.running.clear()
        S3.stop()
        if self.data_fd >= 0:
            os.close(self.data_fd)
        self.workspace.remove()

    def start(self, kind: ServerKind, scenario: Scenario) -> RunningServer:
        server = start_server(kind, self.workspace.servers, scenario.server_args(kind, self.sizes))
        self.running.append(server)
        return server

    def stop(self, server: RunningServer) -> None:
        server.stop()
        self.running.remove(server)

    def run(self, scenarios: list[Scenario]) -> None:
        say(f"making a {self.sizes.data_file / 2**20:.0f} MiB data file in {self.workspace.root}")
        self.data_fd = os.open(self.workspace.data_file(self.sizes.data_file), os.O_RDONLY)
        context = Context(self.sizes, self.data_fd)
        if any(kind.store == "s3" for kind in self.kinds) and any("s3" in s.stores for s in scenarios):
            say(f"starting SeaweedFS in {self.workspace.root / 'seaweedfs'}")
            S3.start(self.workspace.root / "seaweedfs")
        for scenario in scenarios:
            for figure in scenario.figures:
                self.results.add_figure(figure)
            say(f"\n== {scenario.key}: {scenario.describe(self.sizes)}")
            self.run_scenario(scenario, context)

    def run_scenario(self, scenario: Scenario, context: Context) -> None:
        taking_part: list[ServerKind] = []
        for kind in [k for k in self.kinds if k.store in scenario.stores]:
            reason = kind.missing() or scenario.unable(kind)
            if reason:
                self.give_up(scenario, kind, reason)
            else:
                taking_part.append(kind)
        shared: dict[str, RunningServer] = {}
        failed: Counter[str] = Counter()
        try:
            if not scenario.fresh_server_each_run:
                for kind in list(taking_part):
                    if not self.start_shared(scenario, context, kind, shared):
                        taking_part.remove(kind)
            for run in range(1, self.runs + 1):
                for kind in _rotated(taking_part, run - 1):
                    result = self.measure(scenario, context, kind, shared.get(kind.key), run)
                    if result == "n/a":
                        taking_part.remove(kind)
                    elif result == "failed":
                        failed[kind.key] += 1
                        # A crashed server gets one fresh start; a second failure ends its part in this scenario.
                        restarted = failed[kind.key] < 2 and (
                            scenario.fresh_server_each_run or self.restart_shared(scenario, context, kind, shared)
                        )
                        if not restarted:
                            taking_part.remove(kind)
        finally:
            for server in shared.values():
                self.stop(server)

    def start_shared(
        self, scenario: Scenario, context: Context, kind: ServerKind, shared: dict[str, RunningServer]
    ) -> bool:
        try:
            shared[kind.key] = server = self.start(kind, scenario)
            scenario.prepare(context, server)
            return True
        except NotPossible as error:
            self.give_up(scenario, kind, str(error))
        except (BenchError, OSError) as error:
            self.note_failure(scenario, kind, f"start failed: {error}")
        return False

    def restart_shared(
        self, scenario: Scenario, context: Context, kind: ServerKind, shared: dict[str, RunningServer]
    ) -> bool:
        self.stop(shared.pop(kind.key))
        return self.start_shared(scenario, context, kind, shared)

    def measure(
        self, scenario: Scenario, context: Context, kind: ServerKind, server: RunningServer | None, run: int
    ) -> str:
        """One run of one server: "ok", "n/a" (it cannot do this) or "failed" (it broke; noted)."""
        fresh = server is None
        try:
            if server is None:
                server = self.start(kind, scenario)
            outcome = scenario.measure(context, server)
        except NotPossible as error:
            self.give_up(scenario, kind, str(error))
            return "n/a"
        except (BenchError, OSError) as error:
            log = server.log().strip()[-1500:] if server is not None else ""
            say(f"  run {run}/{self.runs} {kind.title}: failed: {error}" + (f"\n{log}" if log else ""))
            crash = ""
            if server is not None and not server.alive:
                crash = f" (the server exited with status {server.process.returncode}: {_last_error(log)})"
            self.note_failure(scenario, kind, f"run {run} failed: {error}{crash}")
            return "failed"
        finally:
            if server is not None:
                if fresh:
                    self.stop(server)
                elif scenario.clear_between_runs and server.alive:
                    server.clear_uploads()
        shown = []
        for figure in scenario.figures:
            value = outcome[figure.key]
            if isinstance(value, NotPossible):
                self.results.mark_missing(figure.key, kind, str(value))
                shown.append(f"{figure.key} n/a ({value})")
            else:
                self.results.add_sample(figure.key, kind, value)
                shown.append(f"{figure.key} {value:,.1f} {figure.unit}")
        say(f"  run {run}/{self.runs} {kind.title}: {'; '.join(shown)}")
        return "ok"

    def note_failure(self, scenario: Scenario, kind: ServerKind, reason: str) -> None:
        for figure in scenario.figures:
            self.results.note_failure(figure.key, kind, reason)

    def give_up(self, scenario: Scenario, kind: ServerKind, reason: str) -> None:
        for figure in scenario.figures:
            self.results.mark_missing(figure.key, kind, reason)
        say(f"  {kind.title}: n/a: {reason}")


def _last_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line]
    return (errors or ["nothing in its log"])[-1][:200]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers stopped, files removed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 subscribers need the sockets
    sizes = QUICK if args.quick else FULL
    started = datetime.datetime.now(datetime.UTC)
    output = args.output or ROOT / "benchmarks" / "results" / f"{started:%Y%m%dT%H%M%SZ}.json"
    bench = Bench(sizes, args.kinds, args.runs, args.tmp)
    scenarios = [cls() for cls in args.scenarios]
    began = time.monotonic()
    before = machine()
    try:
        bench.run(scenarios)
    finally:
        bench.close()
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - began, 1),
        "quick": args.quick,
        "runs": args.runs,
        "machine": {**before, "load_average_after": os.getloadavg()},
        "scenarios": {s.key: s.describe(sizes) for s in scenarios},
    }
    write_json(output, to_json(bench.results, meta))
    print(f"\ntusd_py benchmark, {args.runs} run(s) each, medians; 'tusd_py vs X' above 1× means tusd_py is better\n")
    print(tables(bench.results))
    print("\nTargets:\n" + targets_text(targets(bench.results)))
    print(f"\nJSON: {output}")
    return 0


def _rotated(kinds: list[ServerKind], by: int) -> list[ServerKind]:
    """Each run starts with the next server, so no server is always the one measured right after another's."""
    if not kinds:
        return []
    by %= len(kinds)
    return kinds[by:] + kinds[:by]
