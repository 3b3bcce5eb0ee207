"""Upload-Concat: `partial`, or `final;<url> <url> …` naming partial uploads in order."""

from __future__ import annotations

from dataclasses import dataclass

from tusd_py.protocol.errors import bad_header

HEADER = "Upload-Concat"


@dataclass(frozen=True)
class Concat:
    is_partial: bool
    partial_urls: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        return not self.is_partial


def parse_concat(value: str) -> Concat:
    value = value.strip()
    if value == "partial":
        return Concat(is_partial=True)
    kind, _, urls = value.partition(";")
    if kind.strip() != "final":
        raise bad_header(HEADER, "must be 'partial' or 'final;<url> <url> …'", value)
    partial_urls = tuple(url for url in urls.split(" ") if url)
    if not partial_urls:
        raise bad_header(HEADER, "a final upload must name at least one partial upload", value)
    if len(partial_urls) > 10_000:
        raise bad_header(HEADER, "too many partial uploads")
    return Concat(is_partial=False, partial_urls=partial_urls)


def format_concat(is_final: bool, partial_urls: list[str]) -> str:
    return "final;" + " ".join(partial_urls) if is_final else "partial"
