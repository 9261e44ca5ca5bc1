"""Two windows raised in turn, as a user switching between two applications does.

Two photographs in overlapping 560x420 windows lie over a desktop wallpaper; every frame
raises the other one (ConfigureWindow StackMode Above), so that the X server repaints
what it uncovers from the window's background pixmap, as from an application's backing
store. Each window shows the same picture each time it comes up, but for the frame number,
which the raised window shows at the same place on the screen, where the two overlap
(solid fills): a server that refers to what the client has seen before sends the number's
rows, not the picture again. Two frames a second by default: a settled screen between
raises, as between a user's switches. Protocol: see animation.py.
"""

from __future__ import annotations

import argparse

import xcffib
import xcffib.xproto as xp

from animation import BLACK, WHITE, animate, pixmap_of, window
from framecode import CELL, bits_of
from scenery import cached_landscape

SIZE = (640, 420)
PLACES = ((40, 40), (120, 220))
STRIP = (140, 240)  # on the screen, where the windows overlap


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--cache", help="a directory to keep generated pictures in")
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    conn = xcffib.connect(display=args.display)
    screen = conn.get_setup().roots[0]
    width, height = screen.width_in_pixels, screen.height_in_pixels
    wallpaper = cached_landscape(width, height, seed=2, cache=args.cache)
    window(conn, 0, 0, width, height, background_pixmap=pixmap_of(conn, wallpaper))
    windows = [
        window(
            conn,
            x,
            y,
            *SIZE,
            background_pixmap=pixmap_of(conn, cached_landscape(*SIZE, seed=seed, cache=args.cache)),
        )
        for (x, y), seed in zip(PLACES, (5, 6), strict=True)
    ]
    paper, ink = conn.generate_id(), conn.generate_id()
    conn.core.CreateGC(paper, windows[0], xp.GC.Foreground, [WHITE])
    conn.core.CreateGC(ink, windows[0], xp.GC.Foreground, [BLACK])

    def draw(number: int) -> None:
        raised = number % 2
        conn.core.ConfigureWindow(windows[raised], xp.ConfigWindow.StackMode, [xp.StackMode.Above])
        left, top = STRIP[0] - PLACES[raised][0], STRIP[1] - PLACES[raised][1]
        white: list[xp.RECTANGLE] = []
        black: list[xp.RECTANGLE] = []
        for i, bit in enumerate(bits_of(number)):
            cell = xp.RECTANGLE.synthetic(left + i * CELL, top, CELL, CELL)
            (white if bit else black).append(cell)
        conn.core.PolyFillRectangle(windows[raised], paper, len(white), white)
        conn.core.PolyFillRectangle(windows[raised], ink, len(black), black)

    animate(conn, draw, STRIP, args.fps)


if __name__ == "__main__":
    main()
