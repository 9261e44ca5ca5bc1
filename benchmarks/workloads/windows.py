"""Two windows raised in turn, as a user switching between two applications does.

Two photographs in overlapping 560x420 windows lie over a desktop wallpaper; every frame
raises the other one (ConfigureWindow StackMode Above), so that the X server repaints
what it uncovers from the window's background pixmap, as from an application's backing
store. Each window shows the same picture each time it comes up: a server that refers to
what the client has seen before sends it once. The frame number is in a strip of its own
below them (solid fills). Two frames a second by default: a settled screen between raises,
as between a user's switches. Protocol: see animation.py.
"""

from __future__ import annotations

import argparse

import xcffib
import xcffib.xproto as xp

from animation import BLACK, WHITE, animate, pixmap_of, window
from framecode import CELL, bits_of, strip_size
from scenery import cached_landscape

SIZE = (560, 420)
PLACES = ((40, 40), (300, 200))


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
    strip_x, strip_y = 40, height - CELL - 24
    bar = window(conn, strip_x - 8, strip_y - 4, strip_size()[0] + 16, CELL + 8)
    paper, ink = conn.generate_id(), conn.generate_id()
    conn.core.CreateGC(paper, bar, xp.GC.Foreground, [WHITE])
    conn.core.CreateGC(ink, bar, xp.GC.Foreground, [BLACK])

    def draw(number: int) -> None:
        raised = windows[number % 2]
        conn.core.ConfigureWindow(raised, xp.ConfigWindow.StackMode, [xp.StackMode.Above])
        white: list[xp.RECTANGLE] = []
        black: list[xp.RECTANGLE] = []
        for i, bit in enumerate(bits_of(number)):
            cell = xp.RECTANGLE.synthetic(8 + i * CELL, 4, CELL, CELL)
            (white if bit else black).append(cell)
        conn.core.PolyFillRectangle(bar, paper, len(white), white)
        conn.core.PolyFillRectangle(bar, ink, len(black), black)

    animate(conn, draw, (strip_x, strip_y), args.fps)


if __name__ == "__main__":
    main()
