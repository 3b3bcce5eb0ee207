"""A multipart/form-data body read as it arrives: each chunk becomes part events, never the whole body in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from tusd_py.protocol.errors import TusError

MAX_PART_HEADERS = 16
MAX_PART_HEADER_SIZE = 8 * 1024


@dataclass
class PartStart:
    """A part's headers are in: a file when it has a `filename`, else a field."""

    name: str
    filename: str | None
    content_type: str | None


@dataclass
class PartData:
    data: bytes


@dataclass
class PartEnd:
    pass


PartEvent = PartStart | PartData | PartEnd


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data body; 415 for another type, 400 without a boundary."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise TusError(
            415,
            "unsupported_media_type",
            "a form upload is sent as multipart/form-data",
            {"content_type": (content_type or "")[:200]},
        )
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise TusError(400, "invalid_multipart", "the Content-Type has no usable boundary")
    return boundary


@dataclass
class _Headers:
    name: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    found: dict[bytes, bytes] = field(default_factory=dict)


class PartReader:
    """Feed it the body chunk by chunk; each feed returns the part events that chunk completed."""

    def __init__(self, boundary: bytes) -> None:
        self._events: list[PartEvent] = []
        self._headers = _Headers()
        self.ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end,
                "on_end": self._finished,
            },
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_PART_HEADER_SIZE,
        )

    def feed(self, chunk: bytes) -> list[PartEvent]:
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise TusError(400, "invalid_multipart", f"the multipart body is malformed: {error}"[:300]) from None
        events, self._events = self._events, []
        return events

    def _begin(self) -> None:
        self._headers = _Headers()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._headers.name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._headers.value += data[start:end]

    def _header_end(self) -> None:
        headers = self._headers
        headers.found[bytes(headers.name).strip().lower()] = bytes(headers.value).strip()
        headers.name, headers.value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.found.get(b"content-disposition", b""))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise MultipartParseError("each part needs Content-Disposition: form-data with a name")
        filename = options.get(b"filename")
        content_type = self._headers.found.get(b"content-type")
        self._events.append(
            PartStart(
                name=_text(name),
                filename=_text(filename) if filename is not None else None,
                content_type=_text(content_type) if content_type else None,
            )
        )

    def _data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(PartData(data[start:end]))

    def _end(self) -> None:
        self._events.append(PartEnd())

    def _finished(self) -> None:
        self.ended = True


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
