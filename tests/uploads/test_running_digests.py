"""The running SHA-256 of uploads: resumed only at the offset it covers, fed by a tee that counts."""

from __future__ import annotations

import hashlib

from tusd_py.uploads.digests import RunningDigests, Tee


def test_a_state_resumes_only_at_the_offset_it_covers() -> None:
    digests = RunningDigests()
    state = digests.resume("u", 0)
    assert state is not None
    state.update(b"abc")
    digests.keep("u", 3, state)
    assert digests.resume("u", 2) is None
    resumed = digests.resume("u", 3)
    assert resumed is not None
    resumed.update(b"d")
    assert resumed.digest() == hashlib.sha256(b"abcd").digest()
    assert digests.resume("u", 3).digest() == hashlib.sha256(b"abc").digest()  # a copy: the kept state stands
    digests.forget("u")
    assert len(digests) == 0 and digests.resume("u", 3) is None


def test_a_lost_state_is_none_except_at_offset_zero() -> None:
    digests = RunningDigests()
    assert digests.resume("gone", 10) is None
    assert digests.resume("new", 0).digest() == hashlib.sha256().digest()


def test_the_tee_feeds_both_and_answers_the_checksums_digest() -> None:
    checksum = hashlib.sha1()
    tee = Tee(checksum, hashlib.sha256())
    tee.update(b"xy")
    tee.update(memoryview(b"z"))
    assert tee.count == 3
    assert tee.digest() == hashlib.sha1(b"xyz").digest()
    assert tee.running.digest() == hashlib.sha256(b"xyz").digest()
