"""The results: samples per figure and server, medians, ratios, the targets, a printed table and the JSON file."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.scenarios import Figure
from benchmarks.servers import (
    PEERS,
    S3_PUT,
    SINK,
    TUS_NODE,
    TUS_NODE_S3,
    TUSD_PY,
    TUSD_PY_S3,
    TUSPYSERVER,
    ServerKind,
)

SUBJECTS = {"file": TUSD_PY, "s3": TUSD_PY_S3}  # each store's tusd_py, compared with the others on that store
STORE_TITLES = {"file": "local files", "s3": "S3 (SeaweedFS)"}


@dataclass
class Results:
    servers: list[ServerKind]
    figures: list[Figure] = field(default_factory=list)
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    missing: dict[str, dict[str, str]] = field(default_factory=dict)  # figure → server → why n/a
    failures: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # figure → server → failed runs

    def add_figure(self, figure: Figure) -> None:
        self.figures.append(figure)
        self.samples[figure.key] = {}
        self.missing[figure.key] = {}
        self.failures[figure.key] = {}

    def add_sample(self, figure: str, server: ServerKind, value: float) -> None:
        self.samples[figure].setdefault(server.key, []).append(value)

    def mark_missing(self, figure: str, server: ServerKind, reason: str) -> None:
        self.samples[figure].pop(server.key, None)
        self.missing[figure].setdefault(server.key, reason)

    def note_failure(self, figure: str, server: ServerKind, reason: str) -> None:
        """A run that broke: the samples of the other runs stay, and the table says what happened."""
        self.failures[figure].setdefault(server.key, []).append(reason)

    def median(self, figure: str, server: ServerKind) -> float | None:
        values = self.samples.get(figure, {}).get(server.key)  # a figure of a scenario not run: None
        return statistics.median(values) if values else None

    def advantage(self, figure: Figure, other: ServerKind) -> float | None:
        """How many times better tusd_py (on `other`'s store) is than `other` on this figure: above 1 is better,
        below 1 worse."""
        ours, theirs = self.median(figure.key, SUBJECTS[other.store]), self.median(figure.key, other)
        if ours is None or theirs is None or ours == 0 or theirs == 0:
            return None
        return ours / theirs if figure.better == "higher" else theirs / ours

    def others(self, store: str | None = None) -> list[ServerKind]:
        subjects = SUBJECTS.values()
        return [s for s in self.servers if s not in subjects and store in (None, s.store)]

    def stores(self) -> list[str]:
        return list(dict.fromkeys(s.store for s in self.servers))

    def measured_on(self, figure: str, servers: list[ServerKind]) -> bool:
        """Whether any of `servers` took part in the figure's scenario (measured, failed or n/a)."""
        tables = (self.samples[figure], self.missing[figure], self.failures[figure])
        return any(server.key in table for table in tables for server in servers)


@dataclass(frozen=True)
class Target:
    text: str
    holds: bool | None  # None: not measured in this run
    detail: str


def targets(results: Results) -> list[Target]:
    """The issue's targets, judged on this run's medians."""
    found = {f.key: f for f in results.figures}
    checks: list[Target] = []

    def ratio_target(text: str, figure: str, other: ServerKind, at_least: float) -> None:
        ratio = results.advantage(found[figure], other) if figure in found else None
        detail = "not measured" if ratio is None else f"{ratio:.2f}×"
        checks.append(Target(text, None if ratio is None else ratio >= at_least, detail))

    def bound_target(text: str, figure: str, below: float, unit: str, subject: ServerKind = TUSD_PY) -> None:
        value = results.median(figure, subject) if figure in found else None
        detail = "not measured" if value is None else f"{value:.1f} {unit}"
        checks.append(Target(text, None if value is None else value < below, detail))

    ratio_target("single-stream upload ≥ 3× @tus/server", "single_patch", TUS_NODE, 3.0)
    ratio_target("single-stream upload ≥ 2× tuspyserver", "single_patch", TUSPYSERVER, 2.0)
    ratio_target("single-stream upload ≥ 70 % of the raw sink", "single_patch", SINK, 0.7)
    socket, patch = results.median("socket_upload", TUSD_PY), results.median("single_patch", TUSD_PY)
    socket_share = socket / patch if socket and patch else None
    checks.append(
        Target(
            "upload socket ≥ 70 % of the one-PATCH figure",
            None if socket_share is None else socket_share >= 0.7,
            "not measured" if socket_share is None else f"{socket_share:.2f}×",
        )
    )
    for key, what in (
        ("small_upload_wrk", "64 KiB files in one request each (wrk)"),
        ("small_patch_wrk", "64 KiB files as POST then PATCH (wrk)"),
        ("creates_wrk", "empty creations (wrk)"),
    ):
        for peer in PEERS:
            ratio_target(f"{what} ≥ 3× {peer.title}", key, peer, 3.0)
    bound_target("peak RSS < 100 MB during the large upload", "peak_rss", 100.0, "MB")
    bound_target("event latency p99 < 100 ms with the subscribers", "event_latency_p99", 100.0, "ms")
    ratio_target("S3: single-stream upload ≥ 2× @tus/s3-store", "single_patch", TUS_NODE_S3, 2.0)
    ratio_target("S3: single-stream upload ≥ 80 % of the raw S3 put", "single_patch", S3_PUT, 0.8)
    bound_target("S3: peak RSS < 150 MB during the large upload", "peak_rss", 150.0, "MB", TUSD_PY_S3)
    worse = []
    compared = 0
    for figure in results.figures:
        for peer in PEERS:
            ratio = results.advantage(figure, peer)
            if ratio is not None:
                compared += 1
                if ratio < 1.0:
                    worse.append(f"{figure.key} vs {peer.title} ({ratio:.2f}×)")
    checks.append(
        Target(
            "no figure worse than any peer's",
            None if compared == 0 else not worse,
            "; ".join(worse) if worse else f"{compared} comparisons",
        )
    )
    return checks


def _cell(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def tables(results: Results) -> str:
    """One table per store that took part (local files, S3), each under a heading when there are several."""
    stores = results.stores()
    if len(stores) == 1:
        return table(results, stores[0])
    return "\n\n".join(f"### {STORE_TITLES[store]}\n\n{table(results, store)}" for store in stores)


def table(results: Results, store: str = "file") -> str:
    """A Markdown table of one store's servers: medians per server, then tusd_py's advantage over each other."""
    servers = [s for s in results.servers if s.store == store]
    others = results.others(store)
    head = ["figure", "unit", *(s.title for s in servers), *(f"tusd_py vs {s.title}" for s in others)]
    rows = [head, ["---"] * len(head)]
    notes: dict[str, int] = {}
    for figure in results.figures:
        if not results.measured_on(figure.key, servers):
            continue
        row = [figure.title, figure.unit]
        for server in servers:
            value = results.median(figure.key, server)
            cell = _cell(value)
            reasons = results.failures[figure.key].get(server.key, [])
            missing = results.missing[figure.key].get(server.key)
            if value is None and missing:
                reasons = [missing, *reasons]
            marks = [notes.setdefault(f"{server.title}: {reason}", len(notes) + 1) for reason in reasons]
            if marks:
                cell += " " + "".join(f"[{mark}]" for mark in marks)
            row.append(cell)
        for other in others:
            ratio = results.advantage(figure, other)
            row.append("–" if ratio is None else f"{ratio:.2f}×")
        rows.append(row)
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", *(f"[{n}] {text}" for text, n in notes.items())]
    return "\n".join(lines)


def targets_text(checks: list[Target]) -> str:
    mark = {True: "holds", False: "DOES NOT HOLD", None: "not measured"}
    return "\n".join(f"- {t.text}: {mark[t.holds]} ({t.detail})" for t in checks)


def to_json(results: Results, meta: dict[str, Any]) -> dict[str, Any]:
    figures = []
    for figure in results.figures:
        per_server: dict[str, Any] = {}
        for server in results.servers:
            values = results.samples[figure.key].get(server.key)
            failures = results.failures[figure.key].get(server.key)
            if values:
                per_server[server.key] = {"median": statistics.median(values), "runs": values}
            else:
                per_server[server.key] = {"na": results.missing[figure.key].get(server.key) or "failed"}
            if failures:
                per_server[server.key]["failures"] = failures
        figures.append(
            {
                "key": figure.key,
                "title": figure.title,
                "unit": figure.unit,
                "better": figure.better,
                "servers": per_server,
                "tusd_py_advantage": {other.key: results.advantage(figure, other) for other in results.others()},
            }
        )
    return {
        **meta,
        "servers": {s.key: s.title for s in results.servers},
        "figures": figures,
        "targets": [{"target": t.text, "holds": t.holds, "detail": t.detail} for t in targets(results)],
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
