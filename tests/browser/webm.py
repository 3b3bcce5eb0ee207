"""A minimal WebM writer: VP8 frames from the browser's encoder into a seekable file (Duration and Cues)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Matroska element ids (https://www.matroska.org/technical/elements.html).
EBML, DOC_TYPE, DOC_TYPE_VERSION, DOC_TYPE_READ_VERSION = 0x1A45DFA3, 0x4282, 0x4287, 0x4285
SEGMENT, INFO, TIMESTAMP_SCALE, DURATION = 0x18538067, 0x1549A966, 0x2AD7B1, 0x4489
MUXING_APP, WRITING_APP = 0x4D80, 0x5741
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE, CODEC_ID = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83, 0x86
VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS = 0x1C53BB6B, 0xBB, 0xB3, 0xB7
CUE_TRACK, CUE_CLUSTER_POSITION = 0xF7, 0xF1
CLUSTER, CLUSTER_TIMESTAMP, SIMPLE_BLOCK, VOID = 0x1F43B675, 0xE7, 0xA3, 0xEC
KEYFRAME = 0x80


@dataclass(frozen=True)
class Frame:
    """One encoded frame; `time_ms` from the start of the video."""

    time_ms: int
    is_key: bool
    data: bytes


def element(element_id: int, payload: bytes) -> bytes:
    # Sizes always take 8 bytes, so an element's length is known before its contents are final.
    size = (0x01 << 56 | len(payload)).to_bytes(8, "big")
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size


def with_payload(element_id: int, payload: bytes) -> bytes:
    return element(element_id, payload) + payload


def uint(element_id: int, value: int) -> bytes:
    return with_payload(element_id, value.to_bytes(8, "big"))


def float64(element_id: int, value: float) -> bytes:
    return with_payload(element_id, struct.pack(">d", value))


def void(size: int) -> bytes:
    """A Void element of exactly `size` bytes: space a muxer reserves, which players skip."""
    return with_payload(VOID, bytes(size - len(element(VOID, b""))))


def webm(
    frames: list[Frame], width: int, height: int, frame_ms: int, *, padding_before_ms: int = 0, padding: int = 0
) -> bytes:
    """A VP8 WebM: one cluster per keyframe, a cue for each, and `padding` bytes before the cluster at that time."""
    header = with_payload(
        EBML, with_payload(DOC_TYPE, b"webm") + uint(DOC_TYPE_VERSION, 2) + uint(DOC_TYPE_READ_VERSION, 2)
    )
    info = with_payload(
        INFO,
        uint(TIMESTAMP_SCALE, 1_000_000)  # milliseconds
        + float64(DURATION, float(frames[-1].time_ms + frame_ms))
        + with_payload(MUXING_APP, b"tusd_py tests")
        + with_payload(WRITING_APP, b"tusd_py tests"),
    )
    video = with_payload(VIDEO, uint(PIXEL_WIDTH, width) + uint(PIXEL_HEIGHT, height))
    track = uint(TRACK_NUMBER, 1) + uint(TRACK_UID, 1) + uint(TRACK_TYPE, 1) + with_payload(CODEC_ID, b"V_VP8") + video
    tracks = with_payload(TRACKS, with_payload(TRACK_ENTRY, track))

    starts = [frame.time_ms for frame in frames if frame.is_key]
    clusters = [_cluster(start, [f for f in frames if _cluster_start(starts, f.time_ms) == start]) for start in starts]
    pieces: list[tuple[int | None, bytes]] = []
    for start, cluster in zip(starts, clusters, strict=True):
        if padding and start == padding_before_ms:
            pieces.append((None, void(padding)))
        pieces.append((start, cluster))

    cues_size = len(_cues([(start, 0) for start in starts]))
    position = len(info) + len(tracks) + cues_size  # cluster positions count from the segment's payload
    cue_points = []
    for cue_time, piece in pieces:
        if cue_time is not None:
            cue_points.append((cue_time, position))
        position += len(piece)
    body = info + tracks + _cues(cue_points) + b"".join(piece for _, piece in pieces)
    return header + with_payload(SEGMENT, body)


def _cluster_start(starts: list[int], time_ms: int) -> int:
    return max(start for start in starts if start <= time_ms)


def _cluster(start: int, frames: list[Frame]) -> bytes:
    blocks = b"".join(
        with_payload(
            SIMPLE_BLOCK,
            bytes([0x81])  # track 1
            + (frame.time_ms - start).to_bytes(2, "big", signed=True)
            + bytes([KEYFRAME if frame.is_key else 0])
            + frame.data,
        )
        for frame in frames
    )
    return with_payload(CLUSTER, uint(CLUSTER_TIMESTAMP, start) + blocks)


def _cues(points: list[tuple[int, int]]) -> bytes:
    return with_payload(
        CUES,
        b"".join(
            with_payload(
                CUE_POINT,
                uint(CUE_TIME, time_ms)
                + with_payload(CUE_TRACK_POSITIONS, uint(CUE_TRACK, 1) + uint(CUE_CLUSTER_POSITION, position)),
            )
            for time_ms, position in points
        ),
    )
