"""An X program whose window moves like video: the real-client stream tests' source.

``python xmover.py --display :N --kind pan --geometry 640x480+320+160 --fps 30`` maps an
override-redirect window and paints numbered frames into it through MIT-SHM, driven over
stdin and stdout as the benchmarks' workloads are (see benchmarks/workloads/animation.py:
a ``ready`` line, ``still`` to stop moving, ``quit``). Every frame is a pure function of
its number (``frame``), so a test that reads the number back from the client's pixels can
rebuild the very frame the client shows and measure how close the client came (PSNR).

Two kinds of motion: ``pan`` slides a photograph under the window (every pixel moves the
same way, as when panning a map), ``video`` also changes the light and colour of the
whole picture every frame, as film does, so no part of it is a moved copy of the last.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).parents[1] / d) for d in ("benchmarks", "benchmarks/workloads")]

from framecode import paint_number  # noqa: E402
from scenery import landscape  # noqa: E402

KINDS = ("pan", "video")
STRIP = (16, 16)  # where in the window the frame number is painted
FRAMES_PER_CYCLE = 180  # the pan's path repeats after this many frames


@functools.cache
def _picture(width: int, height: int) -> np.ndarray:
    return landscape(width * 2, height * 2, seed=3, grain=1.5)


def frame(kind: str, number: int, width: int, height: int) -> np.ndarray:
    """Frame ``number`` of a ``width`` x ``height`` window, (h, w) uint32 0x00RRGGBB."""
    t = 2 * math.pi * number / FRAMES_PER_CYCLE
    left = round(width / 2 * (1 + math.sin(t)))
    top = round(height / 2 * (1 + math.sin(2 * t + 1)))
    pixels = _picture(width, height)[top : top + height, left : left + width].copy()
    if kind == "video":
        rgb = pixels.view(np.uint8).reshape(height, width, 4)[..., :3].astype(np.float32)
        gain = np.array([1 + 0.2 * math.sin(t * 3 + k) for k in range(3)], np.float32)
        rgb = np.clip(rgb * gain * (0.85 + 0.15 * math.cos(t * 5)), 0, 255).astype(np.uint32)
        pixels = rgb[..., 0] | rgb[..., 1] << 8 | rgb[..., 2] << 16
    paint_number(pixels, *STRIP, number)
    return pixels


def main() -> None:
    import xcffib
    import xcffib.xproto as xp

    from animation import ShmImage, animate, window

    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--kind", choices=KINDS, default="pan")
    parser.add_argument("--geometry", default="640x480+320+160", help="WxH+X+Y")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument(
        "--band-rows",
        type=int,
        default=0,
        help="paint each frame in bands of this many rows, each its own request, as Xlib "
        "splits a PutImage larger than the X server's request limit (0: one request)",
    )
    args = parser.parse_args()
    size, x, y = args.geometry.split("+")
    width, height = (int(v) for v in size.split("x"))
    conn = xcffib.connect(display=args.display)
    image = ShmImage(conn, window(conn, int(x), int(y), width, height), width, height)

    def draw(number: int) -> None:
        image.pixels[...] = frame(args.kind, number, width, height)
        rows = args.band_rows or height
        for top in range(0, height, rows):
            band = min(rows, height - top)
            image.segment.shm.PutImage(
                image.drawable,
                image.gc,
                width,
                height,
                0,
                top,
                width,
                band,
                0,
                top,
                image.depth,
                xp.ImageFormat.ZPixmap,
                0,
                image.segment.segment,
                0,
            )
            conn.flush()

    animate(conn, draw, (int(x) + STRIP[0], int(y) + STRIP[1]), args.fps)


if __name__ == "__main__":
    main()
