"""The chaos soak's smoke (`python -m soak --smoke`): a minute of small load on three instances over one Redis while
every kind of fault is injected at least once; every invariant it checks must hold and no byte may be lost.

Not yet part of a plain `make test`: run it with TUSD_PY_SOAK_SMOKE=1. On this loaded machine one run hung in its
end phase (in a full run the same hour, a tus-js-client upload waited for an answer that never came), and the known
defects below failed it before they were split out. It joins the default suite once it has passed repeatedly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from soak.faults import KINDS
from soak.invariants import KNOWN_LOCK_DEFECT, KNOWN_STREAM_DEFECT
from tests.support.programs import require_path, require_program

REPOSITORY = Path(__file__).resolve().parents[2]
CHAOS_SECONDS = "40"
RUN_TIMEOUT = 600  # far above the ~90 s it takes on a loaded 2-core machine: only there to stop a hang
# Server defects the soak found and that are not fixed yet (reported; soak/invariants.py says what each is). Their
# failures are shown by the report, not counted here; every other invariant must hold.
KNOWN_DEFECTS = {KNOWN_STREAM_DEFECT, KNOWN_LOCK_DEFECT}


@pytest.mark.skipif(not os.environ.get("TUSD_PY_SOAK_SMOKE"), reason="set TUSD_PY_SOAK_SMOKE=1 (see the docstring)")
@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_the_soak_smoke_holds_every_invariant_under_every_fault(tmp_path: Path) -> None:
    require_program("redis-server", "the soak runs a real Redis")
    require_program("node", "the soak drives tus-js-client under node")
    require_path(REPOSITORY / "tests/interop/node/node_modules/tus-js-client", "run make test (npm ci)")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "soak", "--smoke", "--seconds", CHAOS_SECONDS, "--json", str(report)]
    # A session of its own: on a time-out the whole group goes (instances, Redis, node), not the soak alone.
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    assert report.exists(), f"the soak did not finish:\n{stdout}\n{stderr[-3000:]}"
    data = json.loads(report.read_text())
    checks = [check for check in data["invariants"] if check["name"] not in KNOWN_DEFECTS]
    assert {check["name"] for check in data["invariants"]} - {check["name"] for check in checks} == KNOWN_DEFECTS
    failed = {check["name"]: check["failures"] for check in checks if check["failed"]}
    assert failed == {}, stdout
    assert data["bytes_lost"] == 0
    expected = set(KINDS) | {"client-drop", "client-stall"}
    if os.geteuid() != 0:
        expected.discard("disk-full")  # no tmpfs of its own without root: the report's note says so
    assert {kind for kind, count in data["faults"].items() if count} >= expected, data["faults"]
    assert data["verified"]["uploads"] > 0
    assert all(check["checked"] > 0 for check in checks), checks
    assert process.returncode == 0, stdout
