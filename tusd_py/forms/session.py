"""FormSession: the parts of one form POST turned into uploads, fields into their metadata, as they arrive."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from tusd_py.auth.principal import Principal
from tusd_py.events.batches import BATCH_KEY
from tusd_py.forms.parts import PartData, PartEvent, PartStart
from tusd_py.forms.sink import FileSink
from tusd_py.hooks.models import RequestOrigin
from tusd_py.protocol.creation import CreationRequest
from tusd_py.protocol.errors import TusError
from tusd_py.uploads.service import UploadService

REDIRECT_FIELD = "redirect"


@dataclass(frozen=True)
class FormLimits:
    max_size: int | None = None  # per file
    max_parts: int = 100
    max_field_size: int = 64 * 1024
    idle_timeout: float | None = 60.0  # a body that sends nothing this long is ended (--network-timeout)


@dataclass(frozen=True)
class ReceivedFile:
    id: str
    field: str
    name: str
    type: str | None
    size: int
    sha256: str


class FormSession:
    def __init__(
        self,
        service: UploadService,
        limits: FormLimits,
        principal: Principal | None,
        origin: RequestOrigin | None,
    ) -> None:
        self.service = service
        self.limits = limits
        self.principal = principal
        self.origin = origin
        self.fields: dict[str, str] = {}
        self.files: list[ReceivedFile] = []
        self.redirect: str | None = None
        self._parts = 0
        self._part: PartStart | None = None
        self._value = bytearray()
        self._sink: FileSink | None = None
        self._skipping = False

    async def handle(self, event: PartEvent) -> None:
        if isinstance(event, PartStart):
            await self._start(event)
        elif isinstance(event, PartData):
            await self._data(event.data)
        else:
            await self._end()

    async def _start(self, part: PartStart) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise TusError(
                413, "too_many_parts", f"a form may have at most {self.limits.max_parts} parts", self._details()
            )
        self._part, self._value, self._skipping = part, bytearray(), False
        if part.filename is None:
            return
        if part.filename == "":  # a file input left empty: browsers still send the part
            self._skipping = True
            return
        metadata = {key: value for key, value in self.fields.items() if key != REDIRECT_FIELD}
        metadata["filename"] = part.filename[:255]
        if part.content_type:
            metadata["filetype"] = part.content_type[:200]
        info = await self.service.create(
            CreationRequest(length=None, deferred=True, metadata=metadata),
            principal=self.principal,
            origin=self.origin,
            source={"type": "form", "field": part.name[:200]},
        )
        self._sink = FileSink(self.service, info, self.origin)

    async def _data(self, data: bytes) -> None:
        if self._sink is not None:
            await self._sink.write(data)
        elif not self._skipping:
            self._value += data
            if len(self._value) > self.limits.max_field_size:
                name = self._part.name if self._part else ""
                raise TusError(
                    413,
                    "field_too_large",
                    f"the field {name[:100]!r} is longer than {self.limits.max_field_size} bytes",
                    {**self._details(), "field": name[:200]},
                )

    async def _end(self) -> None:
        part, sink = self._part, self._sink
        self._part, self._sink = None, None
        if part is None or self._skipping:
            return
        if sink is None:
            value = self._value.decode("utf-8", "replace")
            if part.name == REDIRECT_FIELD:
                self.redirect = value
            elif part.name == BATCH_KEY:
                self.fields[BATCH_KEY] = value.strip()[:200]
            else:
                self.fields[part.name[:200]] = value
            return
        try:
            info = await sink.finish()
        except BaseException:
            await self._failed(sink, "form_file_failed", "the file could not be stored")
            raise
        self.files.append(
            ReceivedFile(
                info.id, part.name, part.filename or "", part.content_type, info.offset, sink.hasher.hexdigest()
            )
        )

    async def abort(self, code: str, message: str) -> None:
        """The request ended or failed mid-file: that file's upload is marked failed, never finished."""
        sink, self._sink = self._sink, None
        if sink is not None:
            await sink.abort()
            await self._failed(sink, code, message)

    async def _failed(self, sink: FileSink, code: str, message: str) -> None:
        changes = {"status": "failed", "error_code": code, "error_message": message}
        with contextlib.suppress(TusError, OSError):
            await self.service.record_source(sink.info.id, changes, kind="source_failed")

    def _details(self) -> dict[str, Any]:
        return {"uploads": [file.id for file in self.files]}
