"""How a request span is named and described, from the ASGI scope alone (OpenTelemetry's HTTP conventions)."""

from __future__ import annotations

from typing import Any

import pytest

from tusd_py.ops.tracing.middleware import host_and_port, request_attributes, route_of, span_method, upload_id_of


def scope(**fields: Any) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/files/abc", "headers": [], **fields}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com:8080", ("example.com", 8080)),
        ("example.com", ("example.com", None)),
        ("[::1]:1080", ("::1", 1080)),
        ("[::1]", ("::1", None)),
    ],
)
def test_the_host_header_gives_the_server_address_and_port(host: str, expected: tuple[str, int | None]) -> None:
    assert host_and_port(host) == expected


def test_the_route_puts_the_upload_id_back_as_its_name() -> None:
    matched = scope(endpoint=object(), path_params={"upload_id": "abc"})

    assert route_of(matched) == "/files/{upload_id}"


def test_a_mounted_app_names_its_route_with_the_mount_path() -> None:
    matched = scope(
        endpoint=object(), path="/uploads/files/abc", root_path="/uploads", path_params={"upload_id": "abc"}
    )

    assert route_of(matched) == "/uploads/files/{upload_id}"


def test_a_path_no_route_matched_names_no_route() -> None:
    assert route_of(scope(path="/some/stranger/path")) is None


def test_an_unknown_method_is_other_and_the_span_says_http() -> None:
    odd = scope(method="PURGE")

    attributes = request_attributes(odd)

    assert (attributes["http.request.method"], attributes["http.request.method_original"]) == ("_OTHER", "PURGE")
    assert span_method(odd) == "HTTP"


def test_a_creation_learns_its_upload_from_the_location_it_answered() -> None:
    created = scope(method="POST", path="/files/")

    assert upload_id_of(created, [(b"location", b"http://h/files/new-id")]) == "new-id"
    assert upload_id_of(scope(method="GET", path="/x"), [(b"location", b"http://h/files/new-id")]) is None
