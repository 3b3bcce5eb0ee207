"""Running tus-js-client 4 under node (tests/interop/node/upload.mjs) and reading back what it did."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.interop.exchanges import Exchange, describe_all

NODE_DIR = Path(__file__).parent / "node"
UPLOAD_SCRIPT = NODE_DIR / "upload.mjs"
INSTALLED_CLIENT = NODE_DIR / "node_modules" / "tus-js-client"

# Far above what one upload of a few MiB over loopback needs; only there to stop a hung client.
RUN_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class UploadRun:
    """One run of upload.mjs: its report, and every request the client sent with the response to it."""

    ok: bool
    aborted: bool
    upload_url: str | None
    resumed_from: str | None
    bytes_uploaded: int
    progress_events: int
    error: str | None
    exchanges: list[Exchange]

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> UploadRun:
        exchanges = [
            Exchange.of(
                entry["method"],
                entry["url"],
                entry["requestHeaders"],
                entry["status"],
                entry.get("responseHeaders"),
                entry.get("responseBody") or "",
            )
            for entry in report["requests"]
        ]
        return cls(
            ok=report["ok"],
            aborted=report["aborted"],
            upload_url=report["uploadUrl"],
            resumed_from=report["resumedFrom"],
            bytes_uploaded=report["bytesUploaded"],
            progress_events=report["progressEvents"],
            error=report["error"],
            exchanges=exchanges,
        )

    @property
    def creations(self) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.effective_method == "POST"]

    @property
    def patches(self) -> list[Exchange]:
        """Requests that append to an upload, whether sent as PATCH or as POST overridden to PATCH."""
        return [exchange for exchange in self.exchanges if exchange.effective_method == "PATCH"]

    def explain(self) -> str:
        return f"tus-js-client error: {self.error}\n\n{describe_all(self.exchanges)}"


class TusJsClient:
    def __init__(self, node: str) -> None:
        self.node = node

    def upload(self, file: Path, **options: Any) -> UploadRun:
        """Options are upload.mjs's (tus-js-client's names: chunkSize, parallelUploads, …); see its header."""
        arguments = json.dumps({"file": str(file), **options})
        completed = subprocess.run(
            [self.node, str(UPLOAD_SCRIPT), arguments],
            check=False,  # exit 1 is a failed upload, reported in the JSON line
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode not in (0, 1) or not lines:
            raise RuntimeError(
                f"upload.mjs failed to run (exit {completed.returncode}):\n{completed.stderr}{completed.stdout}"
            )
        run = UploadRun.from_report(json.loads(lines[-1]))
        # Shown by pytest only when the test fails: the full conversation with the server.
        print(f"tus-js-client {options}:\n{describe_all(run.exchanges)}\n")
        return run
