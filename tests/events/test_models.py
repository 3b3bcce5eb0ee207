"""Typed events: one model per type, one way to JSON and back, the field names of SPEC §3."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.events.models import (
    EVENT_CLASSES,
    BatchCompletedEvent,
    BatchProgressEvent,
    CompletedEvent,
    CreatedEvent,
    Event,
    EventType,
    ExpiredEvent,
    FailedEvent,
    ProcessedEvent,
    ProcessingEvent,
    ProgressEvent,
    TerminatedEvent,
    event_from_dict,
    event_from_json,
    utc_timestamp,
)

COMMON_FIELDS = {
    "type",
    "upload_id",
    "seq",
    "timestamp",
    "status",
    "offset",
    "length",
    "percentage",
    "bytes_per_second",
    "eta_seconds",
    "filename",
    "batch",
    "message",
}
BATCH_FIELDS = {"total", "finished", "failed", "bytes_received", "bytes_total"}
FIELDS_OF_TYPE = {
    "created": COMMON_FIELDS | {"protocol"},
    "progress": COMMON_FIELDS,
    "completed": COMMON_FIELDS,
    "terminated": COMMON_FIELDS,
    "expired": COMMON_FIELDS,
    "failed": COMMON_FIELDS | {"stage", "error_code", "error_message"},
    "processing": COMMON_FIELDS | {"stage", "stage_progress"},
    "processed": COMMON_FIELDS | {"result"},
    "batch-progress": COMMON_FIELDS | BATCH_FIELDS,
    "batch-completed": COMMON_FIELDS | BATCH_FIELDS,
}

BASE: dict[str, Any] = {
    "upload_id": "0f3a",
    "seq": 17,
    "timestamp": "2024-05-01T12:00:00.250Z",
    "status": "uploading",
    "offset": 1024,
    "length": 4096,
    "percentage": 25.0,
    "bytes_per_second": 512.5,
    "eta_seconds": 6.0,
    "filename": "photo.jpg",
    "batch": "holiday",
    "message": "received 1 KiB",
    "owner": "alice",
}
EXAMPLES: list[Event] = [
    CreatedEvent(**BASE),
    ProgressEvent(**BASE),
    CompletedEvent(**BASE),
    TerminatedEvent(**BASE),
    ExpiredEvent(**BASE),
    FailedEvent(**BASE, stage="thumbnail", error_code="stage_failed", error_message="not an image"),
    ProcessingEvent(**BASE, stage="thumbnail", stage_progress=0.5),
    ProcessedEvent(**BASE, result={"thumbnail": "/t/0f3a.png", "pages": [1, 2]}),
    BatchProgressEvent(**{**BASE, "upload_id": None}, total=3, finished=1, failed=1, bytes_received=10, bytes_total=30),
    BatchCompletedEvent(
        **{**BASE, "upload_id": None}, total=3, finished=2, failed=1, bytes_received=30, bytes_total=30
    ),
]


def test_there_is_one_model_for_each_of_the_ten_event_types() -> None:
    assert sorted(EVENT_CLASSES) == sorted(
        [
            "created",
            "progress",
            "completed",
            "terminated",
            "expired",
            "failed",
            "processing",
            "processed",
            "batch-progress",
            "batch-completed",
        ]
    )
    assert sorted(type(event).type.value for event in EXAMPLES) == sorted(EVENT_CLASSES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.type.value)
def test_every_event_type_survives_a_json_round_trip(event: Event) -> None:
    again = event_from_json(event.to_json(), owner=event.owner)

    assert again == event
    assert type(again) is type(event)
    assert again.to_json() == event.to_json()


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.type.value)
def test_json_field_names_are_those_of_the_spec(event: Event) -> None:
    assert set(json.loads(event.to_json())) == FIELDS_OF_TYPE[event.type.value]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.type.value)
def test_the_type_field_names_the_event_type(event: Event) -> None:
    assert json.loads(event.to_json())["type"] == event.type.value


def test_the_owner_routes_events_but_is_never_sent_to_clients() -> None:
    event = ProgressEvent(**BASE)

    assert event.owner == "alice"
    assert "owner" not in event.to_dict()
    assert "alice" not in event.to_json()


def test_an_event_read_from_json_takes_its_owner_from_the_caller() -> None:
    event = event_from_json(ProgressEvent(**BASE).to_json(), owner="bob")

    assert event.owner == "bob"


def test_to_dict_and_to_json_are_one_serialisation() -> None:
    for event in EXAMPLES:
        assert json.loads(event.to_json()) == event.to_dict()
        assert event_from_dict(event.to_dict(), owner=event.owner) == event


def test_a_deferred_length_is_null_in_json() -> None:
    event = ProgressEvent(**{**BASE, "length": None, "percentage": None})

    assert json.loads(event.to_json())["length"] is None
    assert event_from_json(event.to_json()).length is None


def test_terminal_types_are_the_ones_that_end_an_upload_or_batch() -> None:
    terminal = {name for name, cls in EVENT_CLASSES.items() if cls.terminal}

    assert terminal == {"terminated", "expired", "failed", "processed", "batch-completed"}


def test_upload_events_carry_the_seq_of_their_upload() -> None:
    assert ProgressEvent(**BASE).stream_key == "upload:0f3a"


def test_batch_events_carry_the_seq_of_their_batch_within_its_owner() -> None:
    assert BatchProgressEvent(**{**BASE, "upload_id": None}).stream_key == "batch:alice/holiday"
    assert BatchProgressEvent(**{**BASE, "upload_id": None, "owner": None}).stream_key == "batch:holiday"


def test_timestamps_are_iso_8601_utc_with_milliseconds() -> None:
    assert utc_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_timestamp(1_700_000_000.123456))


def test_the_event_type_enum_values_are_the_wire_names() -> None:
    assert {member.value for member in EventType} == set(EVENT_CLASSES)


@given(
    offset=st.integers(min_value=0, max_value=2**62),
    length=st.none() | st.integers(min_value=0, max_value=2**62),
    speed=st.none() | st.floats(min_value=0, max_value=1e12, allow_nan=False),
    filename=st.none() | st.text(max_size=40),
    message=st.text(max_size=80),
)
def test_any_progress_figures_and_text_survive_the_round_trip(
    offset: int, length: int | None, speed: float | None, filename: str | None, message: str
) -> None:
    event = ProgressEvent(
        **{
            **BASE,
            "offset": offset,
            "length": length,
            "bytes_per_second": speed,
            "filename": filename,
            "message": message,
        }
    )

    assert event_from_json(event.to_json(), owner="alice") == event


def test_a_numbered_event_is_a_copy_with_its_seq_and_its_own_json() -> None:
    event = ProgressEvent(**{**BASE, "seq": 0})
    assert json.loads(event.to_json())["seq"] == 0  # the unnumbered event's JSON is made and remembered

    numbered = event.numbered(41)

    assert numbered.seq == 41 and event.seq == 0
    assert json.loads(numbered.to_json())["seq"] == 41
    assert numbered == ProgressEvent(**{**BASE, "seq": 41})
    assert type(numbered) is ProgressEvent
