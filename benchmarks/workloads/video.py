"""Full-screen video-like content at 60 frames a second: every pixel changes every frame.

A landscape twice the screen's size in each direction moves under the screen about 8
pixels a frame, while its colours drift a little from frame to frame (as a camera's
exposure does), so no pixel stays the same: motion plus texture, the way a film looks
to an encoder. Drawn with MIT-SHM PutImage like a video player without GL, with the frame
number at the top left (see animation.py for the protocol).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import xcffib

from animation import ShmImage, animate, window
from framecode import paint_number
from scenery import cached_landscape


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--cache", help="a directory to keep generated pictures in")
    parser.add_argument("--fps", type=float, default=60.0)
    args = parser.parse_args()
    conn = xcffib.connect(display=args.display)
    screen = conn.get_setup().roots[0]
    width, height = screen.width_in_pixels, screen.height_in_pixels
    picture = cached_landscape(width * 2, height * 2, seed=4, cache=args.cache)
    channels = [(picture >> shift) & 0xFF for shift in (16, 8, 0)]
    red, green, blue = (np.minimum(c, 247) for c in channels)  # room for the drift
    picture = red << 16 | green << 8 | blue
    image = ShmImage(conn, window(conn, 0, 0, width, height), width, height)

    def draw(number: int) -> None:
        t = number / 60
        left = round(width / 2 * (1 + math.sin(2 * math.pi * t / 4)))
        top = round(height / 2 * (1 + math.sin(2 * math.pi * t / 3 + 1)))
        # A brightness drift of 1 to 8 levels per channel: every pixel changes.
        drift = np.uint32((1 + number % 8) * 0x010101)
        np.add(picture[top : top + height, left : left + width], drift, out=image.pixels)
        paint_number(image.pixels, 16, 16, number)
        image.put()

    animate(conn, draw, (16, 16), args.fps)


if __name__ == "__main__":
    main()
