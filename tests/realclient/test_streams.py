"""Video streams with the real client: detection, each codec's frames, the lossless repaint.

spice-gtk decodes MJPEG itself and VP8 and H.264 through GStreamer; each codec is forced
in turn with the server's ``video_codecs`` setting, and the counters say which one ran.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from spice_server import Display

from harness import display_images, photo, wait_until

pytestmark = pytest.mark.realclient


CODECS = ("mjpeg", "vp8", "h264")


@pytest.mark.parametrize("codec", CODECS)
def test_a_video_like_area_is_streamed_then_repainted_losslessly(make_harness, make_client, codec):
    harness = make_harness(video_codecs=(codec,))
    display = Display(640, 480)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()

    frames = [photo(seed) for seed in range(30)]  # made first: the pace is the test's
    for frame in frames:  # 30 frames at 30 fps in the same place: video
        display.update(frame, 100, 80, diff=False)
        time.sleep(1 / 30)
    final = photo(99)
    for i in range(15):  # the same picture for half a second: the client shows it
        display.update(final, 100, 80, diff=False)
        time.sleep(1 / 30)
        if i == 10:  # while the stream still runs
            shown = client.framebuffer()[80:320, 100:420]
    images = display_images(harness)
    assert images["stream"] == 1 and images[f"stream-{codec}"] == 1, images
    assert images["frame"] >= 10, images

    error = np.abs(
        shown.view(np.uint8).reshape(240, 320, 4)[..., :3].astype(int)
        - final.view(np.uint8).reshape(240, 320, 4)[..., :3].astype(int)
    )
    assert 0 < error.mean() < 12, error.mean()  # lossy, but the right picture

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
    images = display_images(harness)
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
    wait_until(lambda: display_images(harness)["stream"] == 0, what="no stream")


@pytest.mark.parametrize("codec", CODECS)
def test_a_large_stream_is_sent_at_half_size_and_scaled_by_the_client(
    make_harness, make_client, codec
):
    harness = make_harness(video_codecs=(codec,))
    display = Display(1280, 800)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    frames = [photo(seed, 1280, 800) for seed in range(20)]  # made first: the pace counts
    for frame in frames:
        display.update(frame, diff=False)
        time.sleep(1 / 30)
    final = photo(77, 1280, 800)
    for i in range(15):
        display.update(final, diff=False)
        time.sleep(1 / 30)
        if i == 10:  # while the stream still runs
            shown = client.framebuffer()
    images = display_images(harness)
    assert images["stream"] == 1 and images[f"stream-{codec}"] == 1, images
    error = np.abs(
        shown.view(np.uint8).reshape(800, 1280, 4)[..., :3].astype(int)
        - final.view(np.uint8).reshape(800, 1280, 4)[..., :3].astype(int)
    )
    assert 0 < error.mean() < 16, error.mean()  # smaller and lossy, but the right picture
    client.wait_framebuffer(display.snapshot(), timeout=10)
