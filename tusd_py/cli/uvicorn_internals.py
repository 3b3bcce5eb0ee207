"""What `tusd-py serve`'s own protocols need of uvicorn's internals, checked before serving.

cli/http_protocol.py (with cli/zerocopy_send.py) and cli/ws_protocol.py subclass uvicorn's httptools and
websockets-sansio protocols and use methods and attributes uvicorn does not promise to keep. setup.cfg pins the
uvicorn series they were tested with; should another uvicorn be installed anyway and lack one of them, serve runs
uvicorn's stock protocol instead of ours, and says once what that turned off.
"""

from __future__ import annotations

import dis
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

log = logging.getLogger("tusd_py")

# Each class uvicorn defines, and the names our code calls, overrides, reads or sets on it or its instances.
HTTP_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("uvicorn.protocols.http.httptools_impl", "HttpToolsProtocol"): (
        "connection_made",
        "connection_lost",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "on_body",
        "on_message_complete",
        "on_url",
        "on_header",
        "send_400_response",
        "on_response_complete",
        "_unset_keepalive_if_required",
        "_should_upgrade",
        "parser",
        "cycle",
        "scope",
        "headers",
        "transport",
        "config",
        "client",
    ),
    ("uvicorn.protocols.http.httptools_impl", "RequestResponseCycle"): (
        "receive",
        "send",
        "flow",
        "message_event",
        "transport",
        "scope",
        "response_started",
        "response_complete",
        "disconnected",
        "keep_alive",
        "more_body",
        "waiting_for_100_continue",
        "chunked_encoding",
        "expected_content_length",
    ),
    ("uvicorn.protocols.http.flow_control", "FlowControl"): ("pause_reading", "resume_reading"),
    ("uvicorn.config", "Config"): ("h11_max_incomplete_event_size",),
}
WS_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol"): (
        "handle_connect",
        "scope",
        "handshake_complete",
        "initial_response",
        "close_sent",
        "disconnected",
        "writable",
        "conn",
        "transport",
    ),
}

HTTP_FEATURES = (
    "tusd_py's HTTP protocol (request heads bounded by --max-header-size and --request-head-timeout, bodies and"
    " downloads moved in the kernel, JSON answers to malformed requests)"
)
WS_FEATURES = "tusd_py's WebSocket protocol (event frames written straight to the socket)"


def _attribute_names(cls: type) -> set[str]:
    """What a class's instances have: its attributes (methods among them), and every attribute its methods
    assign (instance attributes exist only once `__init__` or a callback ran, so their assignments are read)."""
    names = set(dir(cls))
    for klass in cls.__mro__:
        for value in vars(klass).values():
            function = getattr(value, "fget", value)  # a property: its getter
            if isinstance(function, FunctionType):
                names.update(_assigned(function.__code__))
    return names


def _assigned(code: CodeType) -> Iterator[str]:
    for instruction in dis.get_instructions(code):
        if instruction.opname == "STORE_ATTR":
            yield instruction.argval
    for constant in code.co_consts:  # nested functions and comprehensions
        if isinstance(constant, CodeType):
            yield from _assigned(constant)


def missing(needs: dict[tuple[str, str], tuple[str, ...]]) -> list[str]:
    """`module.Class.name` for each needed name that the installed uvicorn lacks (or a whole class or module)."""
    import importlib

    absent: list[str] = []
    for (module_name, class_name), names in needs.items():
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            absent.append(f"{module_name}.{class_name}")
            continue
        found = _attribute_names(cls)
        absent += [f"{module_name}.{class_name}.{name}" for name in names if name not in found]
    return absent


@dataclass(frozen=True)
class Protocols:
    """What to pass uvicorn as `http` and `ws`: our classes, or "auto" for uvicorn's stock ones."""

    http: Any
    ws: Any


def serving_protocols(
    send_idle_timeout: float | None, head_timeout: float | None = None, *, warn: bool = True
) -> Protocols:
    """Our protocols where the installed uvicorn has what they need; otherwise uvicorn's own, and one warning
    (`warn=False` in a --workers process: its parent warned already)."""
    turned_off: list[str] = []
    absent: list[str] = []
    http: Any = "auto"  # uvicorn's own choice: its httptools protocol, or h11's, whichever it has
    ws: Any = "auto"
    http_missing = missing(HTTP_NEEDS)
    if http_missing:
        turned_off.append(HTTP_FEATURES)
        absent += http_missing
    else:
        from tusd_py.cli.http_protocol import BoundedHttpToolsProtocol

        BoundedHttpToolsProtocol.send_idle_timeout = send_idle_timeout  # a download that stalls ends
        BoundedHttpToolsProtocol.head_timeout = head_timeout  # a request head that never ends is answered 408
        http = BoundedHttpToolsProtocol
    ws_missing = missing(WS_NEEDS)
    if ws_missing:
        turned_off.append(WS_FEATURES)
        absent += ws_missing
    else:
        from tusd_py.cli.ws_protocol import DirectFramesProtocol

        ws = DirectFramesProtocol
    if turned_off and warn:
        import uvicorn

        log.warning(
            "uvicorn %s lacks what tusd_py's own protocols use (%s): turned off %s; serving with uvicorn's stock"
            " protocol instead. tusd_py is tested with uvicorn 0.55.x.",
            uvicorn.__version__,
            ", ".join(absent),
            " and ".join(turned_off),
            extra={"uvicorn_version": uvicorn.__version__, "missing": absent},
        )
    return Protocols(http, ws)
