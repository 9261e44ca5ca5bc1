"""A moving window streamed over a capped, delayed link: sharp enough, and never behind.

spice-gtk reaches the server through benchmarks/linkproxy.py (a bandwidth cap, a delay
each way, a bottleneck queue of one bandwidth-delay product), as on a real network. The
640x480 window of the stream tests (tests/xmover.py, 30 fps, painted in two requests)
plays video or pans on a 1280x800 Xvfb. The encoder's quality level follows the link's
measured rate (display/adaptation.py); what counts is what the client shows, once the
stream has run two seconds (its level for the link found):

- every sample of the client's window is within the PSNR target (35 dB, on 20 Mbit/s
  and 20 ms each way as on 3 Mbit/s and 40 ms: no codec's level goes below the one that
  holds it, video.LOWEST_LEVEL) of the very frame it shows (its number read back from
  its pixels);
- the picture is fresh: the age of the frame shown (the sample's time less the time the
  mover had that frame on the X screen) stays under AGE_P95_S for 95 % of the samples
  and under AGE_MAX_S for all, so frames do not queue up anywhere on the way;
- frames keep coming: the server sends at least MIN_FPS of them a second.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from movingwindow import Mover, crop, frame_number
from spice_server.protocol.constants import ChannelType
from spice_server.protocol.rect import Rect

from harness import display_images, wait_until
from links import Link, LinkProcess

pytestmark = pytest.mark.realclient

SCREEN = (1280, 800)
WINDOW = Rect.from_size(320, 160, 640, 480)
BAND_ROWS = 400

# The PSNR target is loopback's on both links.
WIDE = (Link("20mbit-20ms", 20.0, 20.0), 35.0)
NARROW = (Link("3mbit-40ms", 3.0, 40.0), 35.0)
AGE_P95_S = 0.25  # a frame's way: capture, encode, the link, decode; and the read's own time
AGE_MAX_S = 0.5
MIN_FPS = 24.0  # of the 30 painted
SETTLE_FRAMES = 60  # sent before sampling: the level for the link is found by then
MOVING_S = 8.0
SAMPLE_EVERY_S = 0.4

one_core = pytest.mark.parametrize("core_kind", ["asyncio"])


def stream_state(harness) -> tuple[int, float | None]:
    """The display client's stream quality level and its link's measured rate."""

    def state() -> tuple[int, float | None]:
        (client,) = harness.server.channel_clients(ChannelType.DISPLAY)
        return client.streams.quality.level, client.connection.link.rate

    return harness.call(state)


@one_core
@pytest.mark.parametrize(
    ("codec", "kind", "link", "psnr_db"),
    [
        ("mjpeg", "video", *WIDE),
        ("mjpeg", "pan", *WIDE),
        ("h264", "video", *WIDE),
        ("h264", "pan", *WIDE),
        ("h264", "video", *NARROW),
        ("vp8", "pan", *WIDE),
        ("vp8", "video", *NARROW),
        ("mjpeg", "video", *NARROW),
        ("mjpeg", "pan", *NARROW),
    ],
    ids=[
        "mjpeg-video-20mbit",
        "mjpeg-pan-20mbit",
        "h264-video-20mbit",
        "h264-pan-20mbit",
        "h264-video-3mbit",
        "vp8-pan-20mbit",
        "vp8-video-3mbit",
        "mjpeg-video-3mbit",
        "mjpeg-pan-3mbit",
    ],
)
def test_a_moving_window_over_a_capped_link_stays_sharp_and_fresh(
    exported, make_client, codec, kind, link, psnr_db
):
    x, harness = exported(SCREEN, video_codecs=(codec,))
    with LinkProcess(link, harness.port) as proxy:
        client = make_client(proxy.port)
        client.wait_ready(timeout=30)
        mover = Mover(x.name, kind, WINDOW, BAND_ROWS)
        try:
            wait_until(lambda: display_images(harness)["stream"] >= 1, timeout=20, what="stream")
            wait_until(lambda: display_images(harness)["frame"] >= SETTLE_FRAMES, what="frames")
            samples: list[tuple[float, np.ndarray, int]] = []
            frames_before = display_images(harness)["frame"]
            began = time.monotonic()
            while time.monotonic() - began < MOVING_S:
                shown = crop(client.framebuffer(), WINDOW)
                read_at = time.monotonic()
                number = frame_number(shown) if shown is not None else None
                if shown is not None and number is not None:
                    samples.append((read_at, shown, number))
                time.sleep(SAMPLE_EVERY_S)
            fps = (display_images(harness)["frame"] - frames_before) / (time.monotonic() - began)
            level, rate = stream_state(harness)
            painted = mover.painted()
        finally:
            mover.close()
    figures = [mover.psnr(shown, number) for _, shown, number in samples]
    ages = sorted(read_at - painted[number] for read_at, _, number in samples)
    p95 = ages[int(0.95 * (len(ages) - 1))]
    print(
        f"{codec} {kind} over {link.name}: PSNR dB {[round(f, 1) for f in figures]}; "
        f"age of the picture ms p50 {1000 * ages[len(ages) // 2]:.0f} p95 {1000 * p95:.0f} "
        f"max {1000 * ages[-1]:.0f}; {fps:.1f} frames/s sent; quality level {level}; "
        f"link measured {'-' if rate is None else f'{rate * 8 / 1e6:.1f} Mbit/s'}"
    )
    assert len(samples) >= 10, len(samples)
    assert min(figures) >= psnr_db, [round(f, 1) for f in figures]
    assert p95 <= AGE_P95_S and ages[-1] <= AGE_MAX_S, [round(a, 3) for a in ages]
    assert fps >= MIN_FPS, fps
