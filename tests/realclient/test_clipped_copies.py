"""Copies clipped around a fixed bar over panning content, drawn by the real clients.

Each frame of the pan goes as a copy whose clip leaves out the bar and the place the copy
would carry it to; spice-gtk is sent the bar's draw before the copy, spice-html5 (which
copies whole boxes) after it. Both must end every frame with the server's picture, bit
for bit (lossless settings).
"""

from __future__ import annotations

import numpy as np
import pytest

from spice_server import Display
from spice_server.display.framebuffer import CopyOp, Framebuffer

from harness import display_images
from scenery import landscape

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 480, 320
FRAMES = 8
WORLD = landscape(WIDTH + 3 * FRAMES, HEIGHT + 2 * FRAMES, seed=5)
LOSSLESS = {"jpeg_compression": "never", "streaming_video": "off"}


def frame(number: int) -> np.ndarray:
    """The world panning 3 px left and 2 up a frame, under a bar whose marks change."""
    view = WORLD[2 * number : 2 * number + HEIGHT, 3 * number : 3 * number + WIDTH].copy()
    view[10:26, 20:220] = 0xE0E0E0
    view[14:22, 24 + 12 * number : 32 + 12 * number] = 0x202020
    return view


def test_the_frames_make_clipped_copies() -> None:
    """What the two tests below rely on: every frame of this pan is a clipped copy."""
    framebuffer = Framebuffer(WIDTH, HEIGHT)
    framebuffer.write(frame(0), 0, 0, diff=False)
    for number in range(1, FRAMES):
        framebuffer.take_damage()
        framebuffer.write(frame(number), 0, 0, diff=True)
        copies = [op for op in framebuffer.take_damage().ops if isinstance(op, CopyOp)]
        assert len(copies) == 1 and copies[0].clip, number


def serve(make_harness) -> tuple:
    """A server (lossless settings) showing the first frame; its harness and display."""
    harness = make_harness(**LOSSLESS)
    display = Display(WIDTH, HEIGHT)
    display.update(frame(0))
    harness.call(harness.server.add_interface, display)
    return harness, display


def pan(display: Display, shown) -> None:
    for number in range(1, FRAMES):
        display.update(frame(number), diff=True)
        shown(display.snapshot())


def test_spice_gtk_draws_every_clipped_frame_exactly(make_harness, make_client):
    harness, display = serve(make_harness)
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    pan(display, client.wait_framebuffer)
    assert display_images(harness)["copy"] >= FRAMES - 1


def test_spice_html5_draws_every_clipped_frame_exactly(make_harness, open_page):
    harness, display = serve(make_harness)
    page = open_page(harness.port)
    page.wait_canvas(display.snapshot())
    pan(display, page.wait_canvas)
    assert display_images(harness)["copy"] >= FRAMES - 1
