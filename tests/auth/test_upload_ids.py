"""Upload ids are unguessable: 128 random bits, so knowing one id tells nothing about any other."""

from __future__ import annotations

import re

from tests.auth.conftest import Users
from tests.http.tus_client import upload_id_of

CREATIONS = 400


async def test_ids_are_128_bits_in_hex_and_never_repeat(users: Users) -> None:
    ids = [upload_id_of(await users.alice.new_upload(1)) for _ in range(CREATIONS)]

    assert all(re.fullmatch(r"[0-9a-f]{32}", upload_id) for upload_id in ids)
    assert len(set(ids)) == CREATIONS


async def test_every_hex_digit_of_an_id_varies_between_uploads(users: Users) -> None:
    """No counter, clock or fixed prefix in any position: each of the 32 digits takes many values."""
    ids = [upload_id_of(await users.alice.new_upload(1)) for _ in range(CREATIONS)]

    for position in range(32):
        assert len({upload_id[position] for upload_id in ids}) >= 12, position
