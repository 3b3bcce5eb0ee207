"""UploadInfo: when an upload is complete and when it expires."""

from __future__ import annotations

from tusd_py.protocol.info import UploadInfo


def test_an_upload_is_complete_when_its_offset_reaches_its_length() -> None:
    assert UploadInfo(id="a", size=5, offset=5).is_complete
    assert not UploadInfo(id="a", size=5, offset=4).is_complete


def test_a_deferred_upload_is_never_complete() -> None:
    assert not UploadInfo(id="a", size=None, offset=5).is_complete


def test_a_zero_length_upload_is_complete_at_once() -> None:
    assert UploadInfo(id="a", size=0).is_complete


def test_a_final_upload_waiting_for_its_partials_is_not_complete() -> None:
    assert not UploadInfo(id="a", size=5, offset=5, is_final=True, concat_pending=True).is_complete


def test_an_unfinished_upload_expires_after_its_last_activity() -> None:
    info = UploadInfo(id="a", size=5, created_at=100.0, updated_at=160.0)

    assert info.expires_at(3600) == 3760.0


def test_nothing_expires_without_expire_after() -> None:
    assert UploadInfo(id="a", size=5, created_at=100.0).expires_at(None) is None


def test_a_complete_upload_does_not_expire() -> None:
    assert UploadInfo(id="a", size=5, offset=5, created_at=100.0).expires_at(3600) is None
