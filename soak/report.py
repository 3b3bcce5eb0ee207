"""The soak's report: what was uploaded and verified, faults by kind, answers by status, recovery after each kind of
fault, the slow-client figures, bytes lost, and each invariant with its count."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from soak.invariants import Verdict
from soak.ledger import Ledger
from soak.slow import SlowFigures
from soak.topology import ProcessFigures


def recovery_times(ledger: Ledger) -> dict[str, list[float]]:
    """Per fault kind: for each upload in flight where the fault hit, seconds from the fault to its next
    successful PATCH (uploads never PATCHed again are left out)."""
    times: dict[str, list[float]] = {}
    for fault in ledger.faults:
        for uid in fault.affected:
            later = [at for at in ledger.patched.get(uid, []) if at > fault.at]
            if later:
                times.setdefault(fault.kind, []).append(min(later) - fault.at)
    return times


def summary(ledger: Ledger, verdict: Verdict, seconds: float, slow: SlowFigures | None,
            resources: dict[str, tuple[ProcessFigures | None, ProcessFigures | None]]) -> dict[str, Any]:
    uploads = Counter(upload.kind for upload in ledger.uploads)
    states = Counter(upload.state for upload in ledger.uploads)
    faults = Counter(fault.kind for fault in ledger.faults)
    faults["client-drop"] = sum(1 for upload in ledger.uploads if upload.kind == "dropped" and upload.interrupted)
    faults["client-stall"] = sum(1 for upload in ledger.uploads if upload.kind == "stalled" and upload.interrupted)
    recovery = {kind: {"median": round(statistics.median(values), 3), "max": round(max(values), 3),
                       "samples": len(values)}
                for kind, values in sorted(recovery_times(ledger).items())}
    return {
        "seconds": round(seconds, 1),
        "uploads": {"by_kind": dict(uploads), "by_state": dict(states), "total": len(ledger.uploads),
                    "bytes_offered": sum(upload.size for upload in ledger.uploads)},
        "verified": {"uploads": verdict.uploads_verified, "bytes": verdict.bytes_verified,
                     "downloads_during_load": dict(ledger.downloads)},
        "faults": dict(faults),
        "responses_by_status": {str(k) if k else "-": v for k, v in sorted(verdict.server_statuses.items())},
        "client_statuses": {str(k): v for k, v in sorted(ledger.statuses.items())},
        "client_gave_up_then_resumed": dict(ledger.client_failures),
        "recovery_seconds": recovery,
        "event_streams": len(ledger.streams),
        "slow_clients": slow.as_dict() if slow else None,
        "resources": {name: {"warm_up": base.__dict__ if base else None, "end": end.__dict__ if end else None}
                      for name, (base, end) in resources.items()},
        "bytes_lost": verdict.bytes_lost,
        "invariants": [{"name": check.name, "checked": check.checked, "failed": len(check.failed),
                        "known": check.known, "failures": check.failed[:10]} for check in verdict.checks],
        "notes": ledger.notes,
        "ok": verdict.ok,
    }


def mib(count: float) -> str:
    return f"{count / 2**20:,.1f} MiB"


def render(data: dict[str, Any]) -> str:
    lines = [f"tusd_py chaos soak: {data['seconds']} s of load and faults, 3 instances, one Redis, one small disk", ""]
    uploads = data["uploads"]
    lines.append(f"uploads            {uploads['total']} ({mib(uploads['bytes_offered'])} offered); by kind "
                 + ", ".join(f"{k} {v}" for k, v in sorted(uploads["by_kind"].items())))
    states = ", ".join(f"{k} {v}" for k, v in sorted(uploads["by_state"].items()))
    lines.append(f"                   by end state {states}")
    verified = data["verified"]
    during = verified["downloads_during_load"]
    lines.append(f"verified at end    {verified['uploads']} uploads, {mib(verified['bytes'])} (sha256 of a full GET)")
    lines.append(f"checked during     {during.get('checked', 0)} full downloads, {during.get('ranges', 0)} ranged")
    lines.append("faults             " + ", ".join(f"{k} {v}" for k, v in sorted(data["faults"].items())))
    lines.append("responses (server) " + ", ".join(f"{k}: {v}" for k, v in data["responses_by_status"].items())
                 + " (-: no status, a WebSocket or a client gone first)")
    lines.append("clients gave up    " + (", ".join(f"{k} {v}" for k, v in data["client_gave_up_then_resumed"].items())
                                          or "never") + " (each resumed at the end)")
    lines.append("recovery (fault → next successful PATCH of the uploads it hit)")
    for kind, figures in data["recovery_seconds"].items():
        lines.append(f"  {kind:<16} median {figures['median']:.2f} s, max {figures['max']:.2f} s "
                     f"({figures['samples']} uploads)")
    slow = data["slow_clients"]
    if slow:
        lines.append(f"slow clients       {slow['tricklers']} trickling + {slow['subscribers']} idle subscribers "
                     f"({slow['opened']} open at the measurement, {slow['cut_off']} tricklers cut off)")
        lines.append(f"                   a {mib(slow['size'])} upload: {slow['solo_seconds']:.2f} s alone, "
                     f"{slow['loaded_seconds']:.2f} s alongside: {slow['ratio']:.0%} of solo throughput")
    for name, figures in data["resources"].items():
        base, end = figures["warm_up"], figures["end"]
        if base and end:
            lines.append(f"{name:<18} fds {base['fds']} → {end['fds']} (Redis connections {base['redis_sockets']} → "
                         f"{end['redis_sockets']}), threads {base['threads']} → {end['threads']}, "
                         f"RSS {mib(base['rss'])} → {mib(end['rss'])}")
    lines.append(f"event streams      {data['event_streams']} followed")
    lines.append(f"bytes lost         {data['bytes_lost']}")
    lines.append("")
    lines.append("invariants")
    for check in data["invariants"]:
        mark = "ok  " if not check["failed"] else "SEEN" if check["known"] else "FAIL"
        lines.append(f"  {mark} {check['name']} ({check['checked']} checked, {check['failed']} failed)")
        for failure in check["failures"]:
            lines.append(f"         {failure}")
    for note in data["notes"]:
        lines.append(f"note: {note}")
    lines.append("")
    lines.append("RESULT: " + ("all invariants held" if data["ok"] else "INVARIANTS FAILED"))
    return "\n".join(lines)
