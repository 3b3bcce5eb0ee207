"""What a tus server offers, read from its OPTIONS answer, and clear refusals when a command needs more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tusd_py.client.errors import MissingCapability, UploadRejected


def _list(value: str | None) -> frozenset[str]:
    return frozenset(item.strip().lower() for item in (value or "").split(",") if item.strip())


@dataclass(frozen=True)
class ServerCapabilities:
    endpoint: str
    versions: frozenset[str]
    extensions: frozenset[str]
    checksum_algorithms: frozenset[str]
    max_size: int | None

    @classmethod
    def from_headers(cls, endpoint: str, headers: Mapping[str, str]) -> ServerCapabilities:
        max_size = headers.get("tus-max-size", "").strip()
        return cls(
            endpoint=endpoint,
            versions=_list(headers.get("tus-version")),
            extensions=_list(headers.get("tus-extension")),
            checksum_algorithms=_list(headers.get("tus-checksum-algorithm")),
            max_size=int(max_size) if max_size.isdigit() else None,
        )

    def require(self, extension: str, needed_for: str) -> None:
        if extension not in self.extensions:
            offered = ", ".join(sorted(self.extensions)) or "none"
            raise MissingCapability(
                f"{needed_for} needs the tus '{extension}' extension, which {self.endpoint} does not offer"
                f" (Tus-Extension: {offered})"
            )

    def require_checksum(self, algorithm: str) -> None:
        self.require("checksum", f"--checksum {algorithm}")
        if algorithm not in self.checksum_algorithms:
            offered = ", ".join(sorted(self.checksum_algorithms)) or "none"
            raise MissingCapability(
                f"{self.endpoint} does not accept {algorithm} checksums (Tus-Checksum-Algorithm: {offered})"
            )

    def check_size(self, size: int) -> None:
        if self.max_size is not None and size > self.max_size:
            raise UploadRejected(
                f"{size} bytes is more than the server accepts (Tus-Max-Size: {self.max_size})",
                status=413,
                error_code="upload_too_large",
            )
