"""Video streams with the real client: detection, MJPEG frames, the lossless repaint."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

from spice_server import Display
from spice_server.protocol.constants import ChannelType

from harness import wait_until

pytestmark = pytest.mark.realclient


def photo(seed: int, width: int = 320, height: int = 240) -> np.ndarray:
    """Smooth colour with grain: what LZ4 cannot shrink and JPEG handles well."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = (128 + 100 * np.sin(x / 37 + seed)).astype(np.int32)
    g = (128 + 100 * np.cos(y / 23 - seed)).astype(np.int32)
    b = ((x + y + seed * 9) % 256).astype(np.int32)
    grain = rng.integers(-12, 13, (height, width, 3))
    rgb = np.clip(np.stack([r, g, b], axis=-1) + grain, 0, 255).astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def counters(harness) -> Counter:
    return harness.call(
        lambda: sum(
            (c.images for c in harness.server.channel_clients(ChannelType.DISPLAY)), Counter()
        )
    )


def test_a_video_like_area_is_streamed_then_repainted_losslessly(make_harness, make_client):
    harness = make_harness()
    display = Display(640, 480)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()

    for seed in range(30):  # 30 frames at 30 fps in the same place: video
        display.update(photo(seed), 100, 80, diff=False)
        time.sleep(1 / 30)
    final = photo(99)
    for _ in range(15):  # the same picture for half a second: the client shows it
        display.update(final, 100, 80, diff=False)
        time.sleep(1 / 30)
    images = counters(harness)
    assert images["stream"] == 1 and images["frame"] >= 10, images

    shown = client.framebuffer()[80:320, 100:420]
    error = np.abs(
        shown.view(np.uint8).reshape(240, 320, 4)[..., :3].astype(int)
        - final.view(np.uint8).reshape(240, 320, 4)[..., :3].astype(int)
    )
    assert 0 < error.mean() < 10, error.mean()  # lossy, but the right picture

    # Still for a second: the stream ends and the area is repainted exactly.
    client.wait_framebuffer(display.snapshot(), timeout=10)


def test_text_like_changes_stay_lossless(make_harness, make_client):
    harness = make_harness()
    display = Display(640, 480)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    for i in range(30):  # a changing flat-colour area: compressible, so not video
        frame = np.full((240, 320), 0x202020, dtype=np.uint32)
        frame[10 + i : 30 + i, 10:300] = 0xFFFFFF
        display.update(frame, 100, 80, diff=False)
        time.sleep(1 / 30)
    client.wait_framebuffer(display.snapshot())
    images = counters(harness)
    assert images["stream"] == 0 and images["frame"] == 0, images


def test_streaming_can_be_switched_off(make_harness, make_client):
    harness = make_harness(streaming_video="off")
    display = Display(640, 480)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    for seed in range(20):
        display.update(photo(seed), 100, 80, diff=False)
        time.sleep(1 / 30)
    client.wait_framebuffer(display.snapshot())
    wait_until(lambda: counters(harness)["stream"] == 0, what="no stream")


def test_a_large_stream_is_sent_at_half_size_and_scaled_by_the_client(make_harness, make_client):
    harness = make_harness()
    display = Display(1280, 800)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    for seed in range(20):
        display.update(photo(seed, 1280, 800), diff=False)
        time.sleep(1 / 30)
    final = photo(77, 1280, 800)
    for _ in range(15):
        display.update(final, diff=False)
        time.sleep(1 / 30)
    assert counters(harness)["stream"] == 1
    shown = client.framebuffer()
    error = np.abs(
        shown.view(np.uint8).reshape(800, 1280, 4)[..., :3].astype(int)
        - final.view(np.uint8).reshape(800, 1280, 4)[..., :3].astype(int)
    )
    assert 0 < error.mean() < 16, error.mean()  # smaller and lossy, but the right picture
    client.wait_framebuffer(display.snapshot(), timeout=10)
