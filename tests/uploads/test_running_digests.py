"""The running SHA-256 of uploads: resumed only at the offset it covers, fed by a tee that counts."""

from __future__ import annotations

import hashlib
import itertools

from tusd_py.uploads.digests import CatchUp, RunningDigests, Tee


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


async def test_catch_up_hashes_what_storage_holds_behind_the_writer() -> None:
    stored = bytearray(b"abc")  # what came before: already in the state
    reads: list[tuple[int, int]] = []

    async def read(start: int, stop: int):  # type: ignore[no-untyped-def]
        reads.append((start, stop))
        yield bytes(stored[start:stop])

    state = hashlib.sha256(b"abc")
    catch_up = CatchUp(state, 3, read)
    stored += b"defg"
    catch_up.advance(5)
    catch_up.advance(7)
    stored += b"hi"
    finished = await catch_up.finish(9)
    assert finished is not None and finished.digest() == hashlib.sha256(b"abcdefghi").digest()
    covered = sorted(reads)
    assert covered[0][0] == 3 and covered[-1][1] == 9
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))  # each byte read once


async def test_catch_up_gives_up_when_storage_cannot_be_read() -> None:
    async def read(start: int, stop: int):  # type: ignore[no-untyped-def]
        raise OSError("gone")
        yield b""

    catch_up = CatchUp(hashlib.sha256(), 0, read)
    catch_up.advance(4)
    assert await catch_up.finish(4) is None
