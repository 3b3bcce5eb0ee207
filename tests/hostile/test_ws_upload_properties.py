"""Property-based: any sequence of messages on the upload socket gets typed JSON answers, never a server error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tusd_py import Settings, create_app

EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KNOWN_TYPES = {"status", "progress", "success", "error", "pong"}

scalars = st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=False) | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
fields = st.fixed_dictionaries(
    {"type": st.sampled_from(["create", "resume", "segment", "length", "ping", "other"])},
    optional={
        "size": st.integers(-5, 70_000) | values,
        "length": st.integers(-5, 70_000) | values,
        "upload_id": st.sampled_from(["", "../x", "events", "0" * 32, "a" * 200]) | values,
        "checksum": st.sampled_from(["sha1 AAAA", "md5 ====", "crc32 AAAAAA==", "nope"]) | values,
        "metadata": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4) | values,
        "filename": values,
        "batch_total": values,
    },
)
messages = st.lists(
    st.one_of(
        fields.map(json.dumps),
        st.text(max_size=40),
        st.binary(min_size=1, max_size=3000),
    ),
    max_size=6,
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("ws-properties")
    settings = Settings(upload_dir=root / "uploads", max_size=64 * 1024, ws_max_message_size=2048, network_timeout=5)
    with TestClient(create_app(settings)) as client:
        yield client


def answers(client: TestClient, sequence: list[str | bytes]) -> tuple[list[dict[str, Any]], int | None]:
    """What the server said to the sequence followed by a ping, and its close code if it closed."""
    said: list[dict[str, Any]] = []
    with client.websocket_connect("/files/upload") as ws:
        for message in [*sequence, json.dumps({"type": "ping"})]:
            ws.send_bytes(message) if isinstance(message, bytes) else ws.send_text(message)
        try:
            while True:
                said.append(json.loads(ws.receive_text()))
                if said[-1]["type"] in ("pong", "success"):
                    return said, None
        except WebSocketDisconnect as closed:
            return said, closed.code


@EXAMPLES
@given(sequence=messages)
def test_any_message_sequence_is_answered_without_a_server_error(
    client: TestClient, sequence: list[str | bytes]
) -> None:
    said, code = answers(client, sequence)

    assert said and said[0]["status"] == "connected"
    assert {m["type"] for m in said} <= KNOWN_TYPES, said
    errors = [m for m in said if m["type"] == "error"]
    assert all(400 <= m["status"] < 500 and m["error_code"] and m["error_message"] for m in errors), errors
    assert code is None or 4400 <= code < 4500 or code == 1000, (code, said)


def test_the_property_sees_both_refusals_and_acceptances(client: TestClient) -> None:
    """The strategy reaches both sides: a guard that the property above is not vacuous."""
    good, _ = answers(client, [json.dumps({"type": "create", "size": 3}), b"abc"])
    bad, code = answers(client, [b"abc"])

    assert good[-1]["type"] == "success" and bad[-1]["type"] == "error" and code == 4400
