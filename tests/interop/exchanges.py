"""One HTTP request a real client sent and the response it got, as the interop tests inspect them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@dataclass(frozen=True)
class Exchange:
    """Header names are lower-cased on both sides; `status` is None when no response came back."""

    method: str
    url: str
    request_headers: dict[str, str]
    status: int | None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    @classmethod
    def of(
        cls,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        status: int | None,
        response_headers: Mapping[str, str] | None = None,
        response_body: str = "",
    ) -> Exchange:
        return cls(
            method, url, _lower_keys(request_headers), status, _lower_keys(response_headers or {}), response_body
        )

    @property
    def effective_method(self) -> str:
        """The method the server should act on: X-HTTP-Method-Override wins over the request line."""
        return self.request_headers.get("x-http-method-override", self.method).upper()

    @property
    def creates_partial_upload(self) -> bool:
        return self.method == "POST" and self.request_headers.get("upload-concat") == "partial"

    @property
    def creates_final_upload(self) -> bool:
        return self.method == "POST" and self.request_headers.get("upload-concat", "").startswith("final;")

    def describe(self) -> str:
        """The whole exchange, in the shape a server engineer wants to read in a failure report."""
        lines = [f"> {self.method} {self.url}"]
        lines += [f"> {name}: {value}" for name, value in self.request_headers.items()]
        lines.append(f"< {self.status if self.status is not None else '(no response)'}")
        lines += [f"< {name}: {value}" for name, value in self.response_headers.items()]
        if self.response_body:
            lines.append(f"< body: {self.response_body!r}")
        return "\n".join(lines)


def describe_all(exchanges: list[Exchange]) -> str:
    return "\n\n".join(exchange.describe() for exchange in exchanges)
