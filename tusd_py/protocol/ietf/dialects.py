"""Each interop version of the draft as data: its header names, media type, limits, problems and statuses."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tusd_py.protocol.errors import TusError
from tusd_py.protocol.headers import Headers

INTEROP_HEADER = "Upload-Draft-Interop-Version"
PARTIAL_UPLOAD = "application/partial-upload"


@dataclass(frozen=True)
class Dialect:
    """How one interop version speaks; the drafts that defined it are named in `drafts`."""

    version: int
    drafts: str
    incomplete_header: bool  # 3: `Upload-Incomplete` (true while incomplete); 4+: `Upload-Complete`
    append_media_type: str | None  # required Content-Type of an append, None: any
    limit_age_key: str | None  # the Upload-Limit key of the remaining lifetime; None: no Upload-Limit at all
    upload_length: bool  # Upload-Length in offset retrieval responses
    problems: frozenset[str]  # the RFC 9457 problem types the version defines
    progress_104: bool  # 104 responses with Upload-Offset during a body
    append_status: int  # an append that leaves the upload incomplete
    completing_status: int  # an append that completes it
    strict_retrieval: bool  # offset retrieval and cancellation refuse Upload-Offset/-Complete/-Length (400)
    completed_append_refused: bool  # an append to a completed upload is a 400 (else a valid retry is replayed)

    @property
    def completion_header(self) -> str:
        return "Upload-Incomplete" if self.incomplete_header else "Upload-Complete"

    @property
    def has_limits(self) -> bool:
        return self.limit_age_key is not None


MISMATCH = "mismatching-upload-offset"
COMPLETED = "completed-upload"
INCONSISTENT = "inconsistent-upload-length"

# Each version is the one before it with what its drafts changed, as PROTOCOL.md's table lists them.
_V3 = Dialect(
    version=3,
    drafts="-01",
    incomplete_header=True,
    append_media_type=None,
    limit_age_key=None,
    upload_length=False,
    problems=frozenset(),
    progress_104=False,
    append_status=201,  # "MUST ... responding with the 201 (Created) status code" (-01 to -05)
    completing_status=201,  # "Servers are RECOMMENDED to use 201 (Created)" (-01 to -05)
    strict_retrieval=True,
    completed_append_refused=True,
)
_V4 = replace(_V3, version=4, drafts="-02", incomplete_header=False)
_V5 = replace(_V4, version=5, drafts="-03", progress_104=True)
_V6 = replace(
    _V5,
    version=6,
    drafts="-04, -05",
    append_media_type=PARTIAL_UPLOAD,
    limit_age_key="expires",
    upload_length=True,
    problems=frozenset({MISMATCH, COMPLETED}),
)
_V7 = replace(
    _V6,
    version=7,
    drafts="-06 to -08",
    limit_age_key="max-age",
    problems=frozenset({MISMATCH, INCONSISTENT}),
    append_status=204,  # "a 2xx (Successful) response"; no content to send
    completing_status=200,  # the target resource's answer to the whole representation
    strict_retrieval=False,
    completed_append_refused=False,
)
_V8 = replace(_V7, version=8, drafts="-09 to the editor's copy")

DIALECTS: dict[int, Dialect] = {d.version: d for d in (_V3, _V4, _V5, _V6, _V7, _V8)}
CURRENT_VERSION = max(DIALECTS)


def known_versions() -> str:
    return ", ".join(str(version) for version in sorted(DIALECTS))


def dialect_of(headers: Headers) -> Dialect | None:
    """The dialect a request asks for; None for a tus 1.0 request (no interop header); 400 for one we don't know."""
    value = headers.get(INTEROP_HEADER)
    if value is None:
        return None
    text = value.strip()
    dialect = DIALECTS.get(int(text)) if text.isdigit() and len(text) < 4 else None
    if dialect is None:
        raise TusError(
            400,
            "unknown_interop_version",
            f"{INTEROP_HEADER} {text[:20]!r} is not one this server speaks; it speaks {known_versions()}",
            {"received": text[:50], "known_versions": sorted(DIALECTS)},
            headers={INTEROP_HEADER: str(CURRENT_VERSION)},
        )
    return dialect
