"""The headline workload: a photograph panning under a fixed 800x600 window, 60 times a
second.

A landscape twice the window's size in each direction slides beneath the window along
a smooth Lissajous path (at most ~5 pixels a frame), as when panning a large image or a
map. Each frame is one MIT-SHM PutImage of the whole window, with the frame number in a
strip at its top left (see animation.py for the protocol).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import xcffib

from animation import ShmImage, animate, window
from framecode import paint_number
from scenery import cached_landscape


def frame(picture: np.ndarray, number: int, width: int, height: int) -> np.ndarray:
    """Frame ``number`` of the window: the landscape ``picture`` (twice the window's size
    each way) seen through it, with the number's strip; the benchmark rebuilds what the
    client shows from it."""
    t = number / 60
    left = round(width / 2 * (1 + math.sin(2 * math.pi * t / 10)))
    top = round(height / 2 * (1 + math.sin(2 * math.pi * t / 7 + 1)))
    pixels = picture[top : top + height, left : left + width].copy()
    paint_number(pixels, 16, 16, number)
    return pixels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--cache", help="a directory to keep generated pictures in")
    parser.add_argument("--geometry", default="800x600+0+0", help="WxH+X+Y of the window")
    parser.add_argument("--fps", type=float, default=60.0)
    parser.add_argument("--grain", type=float, default=2.5, help="photo noise, 0 for none")
    args = parser.parse_args()
    size, x, y = args.geometry.split("+")
    width, height = (int(v) for v in size.split("x"))
    conn = xcffib.connect(display=args.display)
    picture = cached_landscape(width * 2, height * 2, grain=args.grain, cache=args.cache)
    image = ShmImage(conn, window(conn, int(x), int(y), width, height), width, height)

    def draw(number: int) -> None:
        image.pixels[...] = frame(picture, number, width, height)
        image.put()

    animate(conn, draw, (int(x) + 16, int(y) + 16), args.fps)


if __name__ == "__main__":
    main()
