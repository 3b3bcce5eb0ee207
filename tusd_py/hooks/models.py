"""Hook requests and responses in tusd's JSON shapes, so a hook service written for tusd works unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tusd_py.protocol.info import UploadInfo
from tusd_py.storage.tusd_format import tusd_upload


class HookType(StrEnum):
    PRE_CREATE = "pre-create"
    POST_CREATE = "post-create"
    POST_RECEIVE = "post-receive"
    PRE_FINISH = "pre-finish"
    POST_FINISH = "post-finish"
    PRE_TERMINATE = "pre-terminate"
    POST_TERMINATE = "post-terminate"

    @property
    def blocking(self) -> bool:
        """Blocking hooks decide the request's answer; the others are told afterwards and never slow it."""
        return self in (HookType.PRE_CREATE, HookType.PRE_FINISH, HookType.PRE_TERMINATE)


class HookFailed(Exception):
    """A hook could not be delivered or answered nonsense (not a rejection: that is a HookResponse)."""


@dataclass
class RequestOrigin:
    """The HTTP request that made a hook fire. Blocking hooks that let it go on shape its answer, as in tusd:
    headers are added, and a status or a body they give replaces the server's own."""

    method: str
    uri: str
    remote_addr: str
    headers: list[tuple[str, str]]
    response_headers: dict[str, str] = field(default_factory=dict)
    response_status: int | None = None
    response_body: str | None = None
    response_media_type: str | None = None  # the hook's Content-Type, for its body

    def header_lists(self) -> dict[str, list[str]]:
        """Headers as tusd sends them: canonical names, each with the list of its values."""
        grouped: dict[str, list[str]] = {}
        for name, value in self.headers:
            grouped.setdefault(_canonical(name), []).append(value)
        return grouped


def _canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@dataclass(frozen=True)
class HookRequest:
    type: HookType
    upload: UploadInfo
    origin: RequestOrigin | None
    storage: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        info = self.upload
        origin = self.origin
        return {
            "Type": self.type.value,
            "Event": {
                "Upload": tusd_upload(info, dict(self.storage) or None),
                "HTTPRequest": {
                    "Method": origin.method if origin else "",
                    "URI": origin.uri if origin else "",
                    "RemoteAddr": origin.remote_addr if origin else "",
                    "Header": origin.header_lists() if origin else {},
                },
            },
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


@dataclass(frozen=True)
class HTTPResponse:
    status_code: int | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeFileInfo:
    id: str | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class HookResponse:
    """What a hook answered. Every field is optional; an empty response lets the request go on."""

    http_response: HTTPResponse = field(default_factory=HTTPResponse)
    reject_upload: bool = False
    reject_termination: bool = False
    stop_upload: bool = False
    change_file_info: ChangeFileInfo | None = None

    @classmethod
    def from_json(cls, data: object) -> HookResponse:
        """Read tusd's response shape; anything that is not that shape is a HookFailed."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise HookFailed("the hook's response is not a JSON object")
        try:
            return cls(
                http_response=_http_response(data.get("HTTPResponse")),
                reject_upload=_flag(data, "RejectUpload"),
                reject_termination=_flag(data, "RejectTermination"),
                stop_upload=_flag(data, "StopUpload"),
                change_file_info=_change_file_info(data.get("ChangeFileInfo")),
            )
        except (TypeError, ValueError) as error:
            raise HookFailed(f"the hook's response is malformed: {error}") from None

    @classmethod
    def from_text(cls, text: str | bytes) -> HookResponse:
        if not text.strip():
            return cls()
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError as error:
            raise HookFailed(f"the hook's response is not JSON: {error}") from None


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _http_response(data: object) -> HTTPResponse:
    if data is None:
        return HTTPResponse()
    if not isinstance(data, dict):
        raise ValueError("HTTPResponse must be an object")
    status = data.get("StatusCode")
    if status == 0 and not isinstance(status, bool):
        status = None  # Go's zero value: a service built on tusd's own types sends 0 for "no status"
    if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599):
        raise ValueError("HTTPResponse.StatusCode must be an HTTP status")
    body = data.get("Body")
    if body is not None and not isinstance(body, str):
        raise ValueError("HTTPResponse.Body must be a string")
    headers = data.get("Header") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("HTTPResponse.Header must map names to strings")
    return HTTPResponse(status_code=status or None, body=body, headers={str(k): v for k, v in headers.items()})


def _change_file_info(data: object) -> ChangeFileInfo | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("ChangeFileInfo must be an object")
    new_id = data.get("ID")
    if new_id is not None and not isinstance(new_id, str):
        raise ValueError("ChangeFileInfo.ID must be a string")
    new_id = new_id or None  # "" is Go's zero value: no new id
    metadata = data.get("MetaData")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise ValueError("ChangeFileInfo.MetaData must map keys to strings")
    return ChangeFileInfo(id=new_id, metadata={str(k): v for k, v in metadata.items()} if metadata else None)
