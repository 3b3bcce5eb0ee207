"""Upload ids: unguessable when made, strictly checked when read from a URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tusd_py.protocol.ids import is_valid_upload_id, new_upload_id


def test_new_ids_are_valid_and_distinct() -> None:
    ids = {new_upload_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(is_valid_upload_id(upload_id) for upload_id in ids)


@pytest.mark.parametrize("candidate", ["0123456789abcdef", "a", "Upload_1-2"])
def test_letters_digits_dash_and_underscore_are_valid(candidate: str) -> None:
    assert is_valid_upload_id(candidate)


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        ".",
        "..",
        "../etc",
        "a/b",
        "a.info",
        ".hidden",
        "-a",
        "_a",
        "a b",
        "a%2f",
        "events",
        "batches",
        "upload",
        "x" * 129,
    ],
)
def test_paths_dots_reserved_names_and_long_ids_are_invalid(candidate: str) -> None:
    assert not is_valid_upload_id(candidate)


@given(st.text(max_size=40))
def test_a_valid_id_never_names_another_path(candidate: str) -> None:
    if is_valid_upload_id(candidate):
        assert "/" not in candidate and "." not in candidate and "\\" not in candidate and "\x00" not in candidate
