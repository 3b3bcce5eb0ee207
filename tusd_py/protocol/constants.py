"""Fixed values of the tus protocol as tusd_py speaks it."""

from __future__ import annotations

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_INT64 = 2**63 - 1

# Paths under the base path that are routes of their own and can never be upload ids.
RESERVED_IDS = frozenset({"events", "batches", "upload"})
