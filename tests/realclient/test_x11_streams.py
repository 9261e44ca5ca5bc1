"""A moving window on a real X server streams as one area, close to its source.

An X program (tests/xmover.py) paints a 640x480 window on a 1280x800 Xvfb at 30 frames a
second, each frame a pure function of its number, which is painted into it. Like a
program whose images Xlib splits at the request size limit, it paints every frame in two
requests (400 rows, then 80), so the capture may see a frame as two boxes, or a box of one
frame and one of the next. The client must still get one stream covering the whole
window (not a 640x400 stream beside an 80-row band of still images of another frame).

Quality is measured at the client: its pixels are read, the frame number read back from
them, that very frame rebuilt, and the PSNR taken over the window. The target is PSNR_DB
(35 dB) for every sample while the window moves, and the exact picture once it stops.
Since the program paints a frame in two requests, the X screen itself shows for a moment
the new top above the old bottom; the bottom band is therefore compared with the frame
shown above it or a neighbour of it, whichever it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from movingwindow import Mover, crop, frame_number, stream_areas
from spice_server.protocol.rect import Rect

from harness import display_images, wait_until
from xserver import XServer

pytestmark = pytest.mark.realclient

SCREEN = (1280, 800)
WINDOW = Rect.from_size(320, 160, 640, 480)
BAND_ROWS = 400
PSNR_DB = 35.0
MOVING_S = 5.0  # how long the client is sampled while the window moves
# between samples: reading the whole framebuffer stalls spice-gtk for a moment, which its
# link estimate would take for a slow link if it came too often
SAMPLE_EVERY_S = 0.5
FIRST_FRAMES = 15  # stream frames sent before the client is sampled (half a second)

# The X server and the client's core are not what these tests are about: one core.
one_core = pytest.mark.parametrize("core_kind", ["asyncio"])


def check_moving_window(
    harness, x: XServer, window: Callable[[], np.ndarray | None], kind: str
) -> list[float]:
    """Start the mover; while it moves, one stream covering the whole window and every
    sample of ``window()`` (the client's pixels there) within PSNR_DB of its source; once
    it is still, the exact picture. Returns the figures."""
    mover = Mover(x.name, kind, WINDOW, BAND_ROWS)
    try:
        wait_until(lambda: display_images(harness)["stream"] >= 1, timeout=20, what="a stream")
        # From its first frames on (the moment it starts, the client may still show
        # pieces of frames sent before it).
        wait_until(lambda: display_images(harness)["frame"] >= FIRST_FRAMES, what="frames")
        # Measured afterwards: the server runs in this process, and rebuilding frames
        # meanwhile would take its loop's time.
        samples: list[tuple[np.ndarray, int]] = []
        deadline = time.monotonic() + MOVING_S
        while time.monotonic() < deadline:
            areas = stream_areas(harness)
            assert areas == [[WINDOW]], (areas, display_images(harness))
            shown = window()
            number = frame_number(shown) if shown is not None else None
            if shown is not None and number is not None:
                samples.append((shown, number))
            time.sleep(SAMPLE_EVERY_S)
        images = display_images(harness)
        assert images["stream"] == 1, images  # one stream for as long as it moved
        last = mover.still()
        expected = mover.expected(last)

        def exact() -> bool:
            shown = window()
            return shown is not None and np.array_equal(shown, expected)

        wait_until(exact, timeout=20, what="the still window exact at the client")
        figures = [mover.psnr(shown, number) for shown, number in samples]
        print(f"{kind}: PSNR at the client while moving (dB):", [round(f, 1) for f in figures])
        assert len(figures) >= 5, figures
        assert min(figures) >= PSNR_DB, [round(f, 1) for f in figures]
        return figures
    finally:
        mover.close()


@one_core
@pytest.mark.parametrize("codec", ["mjpeg", "h264", "vp8"])
@pytest.mark.parametrize("kind", ["video", "pan"])
def test_spice_gtk_sees_a_moving_window_as_one_stream_within_35_db(
    exported, make_client, codec, kind
):
    x, harness = exported(SCREEN, video_codecs=(codec,))
    client = make_client(harness.port)
    client.wait_ready()
    check_moving_window(harness, x, lambda: crop(client.framebuffer(), WINDOW), kind)


@one_core
@pytest.mark.parametrize("kind", ["video", "pan"])
def test_spice_html5_sees_a_moving_window_as_one_stream_within_35_db(exported, browsers, kind):
    """spice-html5 draws MJPEG frames on its canvas, where they are measured."""
    x, harness = exported(SCREEN, video_codecs=("mjpeg",))
    page = browsers.open(harness.port)
    area = (WINDOW.left, WINDOW.top, WINDOW.width, WINDOW.height)

    def window() -> np.ndarray | None:
        shown = page.canvas(area)
        return None if shown is None else shown & 0xFFFFFF

    try:
        wait_until(lambda: page.canvas() is not None, timeout=20, what="spice-html5's canvas")
        check_moving_window(harness, x, window, kind)
    finally:
        page.close()
