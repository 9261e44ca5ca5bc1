"""A full-screen, video-like X workload: every pixel changes, 60 frames a second.

A noisy, colourful texture slides diagonally across the whole screen, drawn with MIT-SHM
PutImage the way a video player without GL draws. Identical on every X server.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import xcffib
import xcffib.shm
import xcffib.xproto as xp

from spice_server.backends.x11.shm import SharedMemory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--fps", type=float, default=60.0)
    args = parser.parse_args()
    conn = xcffib.connect(display=args.display)
    screen = conn.get_setup().roots[0]
    width, height = screen.width_in_pixels, screen.height_in_pixels
    window = conn.generate_id()
    conn.core.CreateWindow(
        screen.root_depth,
        window,
        screen.root,
        0,
        0,
        width,
        height,
        0,
        xp.WindowClass.InputOutput,
        screen.root_visual,
        xp.CW.OverrideRedirect,
        [1],
    )
    conn.core.MapWindow(window)
    gc = conn.generate_id()
    conn.core.CreateGC(gc, window, 0, [])
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0 : height * 2, 0 : width * 2]
    texture = (((x * 3) & 0xFF) << 16 | ((y * 2) & 0xFF) << 8 | ((x + y) & 0xFF)).astype(np.uint32)
    texture ^= rng.integers(0, 48, texture.shape, dtype=np.uint32) * 0x010101
    segment = SharedMemory(conn, width * height * 4, read_only=True)
    frame = segment.memory.view(np.uint32).reshape(height, width)
    period = 1 / args.fps
    next_frame = time.monotonic()
    step = 0
    while True:
        offset = (step * 6) % height
        frame[...] = texture[offset : offset + height, offset : offset + width]
        segment.shm.PutImage(
            window,
            gc,
            width,
            height,
            0,
            0,
            width,
            height,
            0,
            0,
            screen.root_depth,
            xp.ImageFormat.ZPixmap,
            0,
            segment.segment,
            0,
        )
        conn.core.GetInputFocus().reply()  # wait until the server has drawn it
        step += 1
        next_frame += period
        time.sleep(max(0.0, next_frame - time.monotonic()))


if __name__ == "__main__":
    main()
