"""A window over a playing video stays exact at the client: the stream's clip leaves it out.

An X program (tests/xmover.py) plays video-like frames at 30 fps in a 640x480 window; a
second window, mapped over part of it, holds still content (a white page with dark
"glyphs") and now and then one more glyph, as a terminal does while the user types. X
reports the video's drawing around the window, and the stream's clip leaves the window
out: spice-gtk draws no frame over it, so it shows exactly what X shows (before, every
lossy frame painted it, and a glyph typed there showed as video). When the window goes,
the video takes its place again, and once the video stops the screen is exact.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import xcffib
import xcffib.xproto as xp

from movingwindow import Mover, crop, frame_number, stream_areas
from spice_server.protocol.rect import Rect

from harness import display_images, wait_until

pytestmark = pytest.mark.realclient

SCREEN = (1280, 800)
VIDEO = Rect.from_size(320, 160, 640, 480)
OVER = Rect.from_size(250, 450, 401, 151)  # over the video's lower left, off the tile grid
GLYPH = (7, 13)
SAMPLES = 6
SAMPLE_EVERY_S = 0.4


class Overlay:
    """An override-redirect window at ``rect`` on top of everything, white, into which
    ``type`` draws dark glyph-sized boxes one after the other."""

    def __init__(self, display: str, rect: Rect) -> None:
        self.conn = xcffib.connect(display=display)
        screen = self.conn.get_setup().roots[0]
        self.root, self.rect, self.typed = screen.root, rect, 0
        self.window = self.conn.generate_id()
        mask = xp.CW.BackPixel | xp.CW.OverrideRedirect
        self.conn.core.CreateWindow(
            screen.root_depth, self.window, screen.root, rect.left, rect.top,
            rect.width, rect.height, 0, xp.WindowClass.InputOutput, screen.root_visual,
            mask, [0xFFFFFF, 1],
        )  # fmt: skip
        self.gc = self.conn.generate_id()
        self.conn.core.CreateGC(self.gc, self.window, xp.GC.Foreground, [0x202020])
        self.conn.core.MapWindow(self.window)
        for _ in range(20):  # a line of text already there
            self.type()

    def type(self) -> None:
        """One more glyph on the current line, drawn once this returns."""
        column, line = self.typed % 50, self.typed // 50
        box = xp.RECTANGLE.synthetic(4 + column * 8, 4 + line * 16, *GLYPH)
        self.conn.core.PolyFillRectangle(self.window, self.gc, 1, [box])
        self.conn.core.GetInputFocus().reply()
        self.typed += 1

    def shown_by_x(self) -> np.ndarray:
        """The window's pixels on the X screen, (h, w) 0x00RRGGBB."""
        r = self.rect
        reply = self.conn.core.GetImage(
            xp.ImageFormat.ZPixmap, self.root, r.left, r.top, r.width, r.height, 0xFFFFFFFF
        ).reply()
        pixels = np.frombuffer(bytes(reply.data.buf()), dtype=np.uint32)
        return pixels.reshape(r.height, r.width) & 0xFFFFFF

    def close(self) -> None:
        self.conn.core.DestroyWindow(self.window)
        self.conn.core.GetInputFocus().reply()
        self.conn.disconnect()


@pytest.mark.parametrize("core_kind", ["asyncio"])
@pytest.mark.parametrize("codec", ["mjpeg", "h264"])
def test_spice_gtk_keeps_a_window_over_a_video_exact(exported, make_client, codec):
    x, harness = exported(SCREEN, video_codecs=(codec,))
    client = make_client(harness.port)
    client.wait_ready()
    mover = Mover(x.name, "video", VIDEO)
    overlay: Overlay | None = None
    try:
        wait_until(lambda: display_images(harness)["stream"] >= 1, timeout=20, what="a stream")
        overlay = Overlay(x.name, OVER)
        window = overlay

        def exact() -> bool:
            return np.array_equal(crop(client.framebuffer(), window.rect), window.shown_by_x())

        wait_until(exact, timeout=5, what="the window over the video exact at the client")
        assert display_images(harness)["stream-clip"] >= 1, display_images(harness)
        # The user types while the video plays: each glyph shows, exactly, and nothing
        # of the video is drawn over the window meanwhile.
        numbers = []
        for _ in range(SAMPLES):
            window.type()
            wait_until(exact, timeout=2, what="a glyph typed over the video, exact")
            numbers.append(frame_number(crop(client.framebuffer(), VIDEO)))
            time.sleep(SAMPLE_EVERY_S)
        assert stream_areas(harness) == [[VIDEO]], stream_areas(harness)
        shown = [n for n in numbers if n is not None]
        assert len(set(shown)) >= SAMPLES - 1, numbers  # the video played on meanwhile

        # The window goes: the video draws there again, and is exact once it stops.
        overlay.close()
        overlay = None
        time.sleep(1.0)
        expected = mover.expected(mover.still())
        wait_until(
            lambda: np.array_equal(crop(client.framebuffer(), VIDEO), expected),
            timeout=20,
            what="the stopped video exact at the client",
        )
    finally:
        if overlay is not None:
            overlay.close()
        mover.close()
