"""Expiration: Upload-Expires while an upload can expire, 410 once it has."""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

import pytest

from tests.http.conftest import MakeTus
from tests.http.tus_client import TusClient, assert_error, upload_id_of
from tests.support.waiting import eventually

# RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT"
)
HOUR = 3600.0

pytestmark = pytest.mark.stores("file", "s3")  # what the store does not decide, on both stores


def seconds_from_now(http_date: str) -> float:
    return parsedate_to_datetime(http_date).timestamp() - time.time()


async def expired_upload(tus: TusClient) -> str:
    """An unfinished upload of an app whose uploads expire almost at once, once it has expired."""
    url = await tus.new_upload(10)

    async def gone() -> bool:
        return (await tus.head(url)).status_code != 200

    await eventually(gone)
    return url


async def test_post_carries_upload_expires_as_an_http_date(make_tus: MakeTus) -> None:
    response = await make_tus(expire_after=HOUR).create(10)

    assert IMF_FIXDATE.fullmatch(response.headers["Upload-Expires"])


async def test_upload_expires_is_expire_after_from_now(make_tus: MakeTus) -> None:
    response = await make_tus(expire_after=HOUR).create(10)

    assert abs(seconds_from_now(response.headers["Upload-Expires"]) - HOUR) < 60


async def test_patch_carries_upload_expires(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=HOUR)
    url = await tus.new_upload(10)

    response = await tus.patch(url, b"abc", offset=0)

    assert IMF_FIXDATE.fullmatch(response.headers["Upload-Expires"])
    assert abs(seconds_from_now(response.headers["Upload-Expires"]) - HOUR) < 60


async def test_every_patch_carries_upload_expires(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=HOUR)
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    response = await tus.patch(url, b"def", offset=3)

    assert IMF_FIXDATE.fullmatch(response.headers["Upload-Expires"])


async def test_head_carries_upload_expires(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=HOUR)
    url = await tus.new_upload(10)

    response = await tus.head(url)

    assert IMF_FIXDATE.fullmatch(response.headers["Upload-Expires"])


async def test_no_upload_expires_when_uploads_do_not_expire(tus: TusClient) -> None:
    url = await tus.new_upload(10)

    response = await tus.patch(url, b"abc", offset=0)

    assert "Upload-Expires" not in response.headers


async def test_an_expired_upload_is_410_on_head_without_upload_offset(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=0.2)
    url = await expired_upload(tus)

    response = await tus.head(url)

    assert_error(response, 410)
    assert "Upload-Offset" not in response.headers


async def test_an_expired_upload_is_410_on_patch(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=0.2)
    url = await expired_upload(tus)

    response = await tus.patch(url, b"abc", offset=0)

    assert_error(response, 410)
    assert "Upload-Offset" not in response.headers


async def test_a_finished_upload_does_not_expire(make_tus: MakeTus) -> None:
    tus = make_tus(expire_after=0.2)
    url = await tus.new_upload(3, body=b"abc")  # finished by its one request, before it could expire
    unfinished = await expired_upload(tus)

    response = await tus.head(url)

    assert (await tus.head(unfinished)).status_code == 410
    assert response.status_code == 200
    assert "Upload-Expires" not in response.headers


# The sweeper's interval is a setting (`--sweep-interval`); a server without it sweeps at its own pace.
FAST_SWEEPS = {"TUSD_PY_SWEEP_INTERVAL": "0.1"}


async def test_an_expired_upload_is_removed_by_the_background_task(make_tus: MakeTus) -> None:
    tus = make_tus(FAST_SWEEPS, expire_after=0.2)
    url = await tus.new_upload(10)
    await tus.patch(url, b"abc", offset=0)

    async def removed() -> bool:
        return not tus.stored_anything(url) and upload_id_of(url) + ".info" not in tus.stored_files()

    # No request touches the upload after it expires: only the server's own sweeper can remove it.
    await eventually(removed, timeout=5.0)


async def test_a_removed_expired_upload_is_410_while_its_tombstone_lasts(make_tus: MakeTus) -> None:
    tus = make_tus(FAST_SWEEPS, expire_after=0.2)
    url = await tus.new_upload(10)

    async def removed() -> bool:
        return not tus.stored_anything(url)

    await eventually(removed, timeout=5.0)
    response = await tus.head(url)

    assert_error(response, 410)
    assert "Upload-Offset" not in response.headers


async def test_a_removed_expired_upload_is_404_once_its_tombstone_is_gone(make_tus: MakeTus) -> None:
    tus = make_tus(FAST_SWEEPS | {"TUSD_PY_TOMBSTONE_TTL": "0.3"}, expire_after=0.2)
    url = await tus.new_upload(10)

    async def not_found() -> bool:
        return (await tus.head(url)).status_code == 404

    await eventually(not_found, timeout=5.0)
