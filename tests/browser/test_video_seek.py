"""A video uploaded with tus plays in a real browser and seeks; the player fetches its later part with a Range."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response

from tests.browser.webm import Frame, webm
from tests.support import tus
from tests.support.browser import chromium
from tests.support.live_server import LiveServer
from tusd_py.protocol.metadata import format_metadata

WIDTH, HEIGHT, FPS, SECONDS = 320, 240, 10, 8
FRAME_MS = 1000 // FPS
# Each second of the video is one flat colour, so a single pixel tells which second the player shows.
RED, GREEN, BLUE, YELLOW, CYAN, MAGENTA, WHITE, BLACK = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 255),
    (0, 0, 0),
)
PALETTE = [RED, GREEN, BLUE, YELLOW, CYAN, MAGENTA, WHITE, BLACK]
# A Void element (room a muxer reserves, which players skip) puts seconds 4 to 7 past the first 24 MiB: the player
# reaches them only with a Range request from the middle of the file.
PADDING_BEFORE_MS, PADDING = 4000, 24 * 2**20
SEEK_TO = 6.5

# WebCodecs encodes frame by frame, not in real time: about a second for the whole video.
ENCODE_VIDEO = """
async ({width, height, fps, seconds, palette}) => {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  const frames = [];
  const encoder = new VideoEncoder({
    output: (chunk) => {
      const bytes = new Uint8Array(chunk.byteLength);
      chunk.copyTo(bytes);
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      frames.push({time_us: chunk.timestamp, key: chunk.type === 'key', data: btoa(binary)});
    },
    error: (error) => { throw error; },
  });
  encoder.configure({codec: 'vp8', width, height, bitrate: 500_000, framerate: fps});
  for (let n = 0; n < fps * seconds; n++) {
    const [r, g, b] = palette[Math.floor(n / fps)];
    context.fillStyle = `rgb(${r}, ${g}, ${b})`;
    context.fillRect(0, 0, width, height);
    context.fillStyle = 'gray';
    context.font = '32px sans-serif';
    context.fillText(`frame ${n}`, 12, 44);
    const frame = new VideoFrame(canvas, {timestamp: Math.round(n * 1e6 / fps), duration: Math.round(1e6 / fps)});
    encoder.encode(frame, {keyFrame: n % fps === 0});
    frame.close();
  }
  await encoder.flush();
  return frames;
}
"""

METADATA_LOADED = """
() => new Promise((resolve, reject) => {
  const video = document.getElementById('player');
  const done = () => resolve(video.duration);
  if (video.readyState >= HTMLMediaElement.HAVE_METADATA) return done();
  video.addEventListener('loadedmetadata', done, {once: true});
  video.addEventListener('error', () => reject(new Error('video error ' + video.error.code)), {once: true});
})
"""

SEEK = """
(seconds) => new Promise((resolve, reject) => {
  const video = document.getElementById('player');
  video.addEventListener('seeked', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0);
    const [r, g, b] = context.getImageData(video.videoWidth - 20, video.videoHeight - 20, 1, 1).data;
    resolve({currentTime: video.currentTime, readyState: video.readyState, pixel: [r, g, b]});
  }, {once: true});
  video.addEventListener('error', () => reject(new Error('video error ' + video.error.code)), {once: true});
  video.currentTime = seconds;
})
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium("the video tests play an upload in a real browser") as browser:
        yield browser


def on_server_origin(browser: Browser, server: LiveServer) -> Page:
    """A page on the server's own origin: loopback is a secure context (WebCodecs) and the video is same-origin."""
    page = browser.new_page(viewport={"width": 480, "height": 360})
    page.goto(server.base_url + "/healthz")
    return page


def encoded_frames(page: Page) -> list[Frame]:
    palette = [list(colour) for colour in PALETTE]
    chunks: list[dict[str, Any]] = page.evaluate(
        ENCODE_VIDEO, {"width": WIDTH, "height": HEIGHT, "fps": FPS, "seconds": SECONDS, "palette": palette}
    )
    return [Frame(chunk["time_us"] // 1000, chunk["key"], base64.b64decode(chunk["data"])) for chunk in chunks]


@pytest.fixture(scope="module")
def video_url(browser: Browser, shared_live_server: LiveServer) -> str:
    """A finished upload of an 8 second WebM, declared as video/webm."""
    page = on_server_origin(browser, shared_live_server)
    frames = encoded_frames(page)
    page.close()
    video = webm(frames, WIDTH, HEIGHT, FRAME_MS, padding_before_ms=PADDING_BEFORE_MS, padding=PADDING)
    metadata = format_metadata({"filetype": "video/webm", "filename": "colours.webm"})
    url = tus.create(shared_live_server.endpoint, len(video), **{"Upload-Metadata": metadata})
    assert tus.patch(url, 0, video).status_code == 204
    return url


@pytest.fixture
def page(browser: Browser, shared_live_server: LiveServer) -> Iterator[Page]:
    page = on_server_origin(browser, shared_live_server)
    yield page
    page.close()


def open_player(page: Page, video_url: str) -> float:
    """Put the video in a page and wait for its metadata; its duration."""
    page.set_content(
        f'<body style="margin: 0; background: #333">'
        f'<video id="player" src="{video_url}" muted preload="metadata"></video></body>'
    )
    duration: float = page.evaluate(METADATA_LOADED)
    return duration


def nearest_colour(pixel: list[int]) -> tuple[int, int, int]:
    return min(PALETTE, key=lambda colour: sum((a - b) ** 2 for a, b in zip(colour, pixel, strict=True)))


def requested_range(response: Response) -> tuple[int, int | None] | None:
    """(first, last) of the request's `Range: bytes=first-[last]`, None without one."""
    header = response.request.headers.get("range")
    if header is None:
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    return int(first), int(last) if last else None


def is_mid_file_request(video_url: str) -> Callable[[Response], bool]:
    def matches(response: Response) -> bool:
        requested = requested_range(response)
        return response.url == video_url and requested is not None and requested[0] > 0

    return matches


def test_the_player_loads_the_video_with_a_range_request_answered_206(page: Page, video_url: str) -> None:
    with page.expect_response(video_url) as first:
        open_player(page, video_url)

    response = first.value
    assert requested_range(response) == (0, None)
    assert response.status == 206
    match = re.fullmatch(r"bytes 0-(\d+)/(\d+)", response.headers["content-range"])
    assert match is not None and int(match.group(1)) == int(match.group(2)) - 1


def test_the_player_fetches_the_far_part_with_a_range_from_the_middle(page: Page, video_url: str) -> None:
    with page.expect_response(is_mid_file_request(video_url)) as mid_file:
        open_player(page, video_url)
        page.evaluate(SEEK, SEEK_TO)

    response = mid_file.value
    requested = requested_range(response)
    assert requested is not None
    first, last = requested
    size = int(response.headers["content-range"].rsplit("/", 1)[1])
    assert response.status == 206
    assert response.headers["content-range"] == f"bytes {first}-{size - 1 if last is None else last}/{size}"
    assert first >= PADDING  # beyond the padding: the player skipped it to reach the later seconds


def test_the_player_knows_the_duration(page: Page, video_url: str) -> None:
    assert open_player(page, video_url) == SECONDS


def test_the_player_seeks_to_a_later_time_and_shows_that_frame(page: Page, video_url: str, tmp_path: Path) -> None:
    open_player(page, video_url)

    seeked = page.evaluate(SEEK, SEEK_TO)
    page.screenshot(path=tmp_path / "video-seeked.png")

    assert seeked["currentTime"] == SEEK_TO
    assert seeked["readyState"] >= 2  # HAVE_CURRENT_DATA: the frame at that time is decoded
    assert nearest_colour(seeked["pixel"]) == PALETTE[int(SEEK_TO)]
