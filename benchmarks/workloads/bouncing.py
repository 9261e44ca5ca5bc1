"""A moving X workload: a textured square bouncing across the screen at 60 frames a second.

The same program runs on every X server a benchmark compares, so each serves identical
drawing. Uses core X requests only (PolyFillRectangle), like a simple toolkit would.
"""

from __future__ import annotations

import argparse
import time

import xcffib
import xcffib.xproto as xp

SIZE = 200


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
        xp.CW.BackPixel | xp.CW.OverrideRedirect,
        [0x203040, 1],
    )
    conn.core.MapWindow(window)
    gcs = []
    for colour in (0x203040, 0xFFAA33, 0x3388FF):
        gc = conn.generate_id()
        conn.core.CreateGC(gc, window, xp.GC.Foreground, [colour])
        gcs.append(gc)
    x, y, dx, dy = 0, 0, 7, 5
    frame = 1 / args.fps
    next_frame = time.monotonic()
    while True:
        old = xp.RECTANGLE.synthetic(x, y, SIZE, SIZE)
        x, y = x + dx, y + dy
        if not 0 <= x <= width - SIZE:
            dx, x = -dx, max(0, min(x, width - SIZE))
        if not 0 <= y <= height - SIZE:
            dy, y = -dy, max(0, min(y, height - SIZE))
        conn.core.PolyFillRectangle(window, gcs[0], 1, [old])
        conn.core.PolyFillRectangle(window, gcs[1], 1, [xp.RECTANGLE.synthetic(x, y, SIZE, SIZE)])
        stripes = [xp.RECTANGLE.synthetic(x + i, y, 4, SIZE) for i in range(0, SIZE, 16)]
        conn.core.PolyFillRectangle(window, gcs[2], len(stripes), stripes)
        conn.flush()
        next_frame += frame
        time.sleep(max(0.0, next_frame - time.monotonic()))


if __name__ == "__main__":
    main()
