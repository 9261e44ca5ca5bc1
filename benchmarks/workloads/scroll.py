"""A terminal scrolling text, 60 lines a second, drawn the way xterm draws.

Each frame scrolls the text up one line inside the window (CopyArea), clears the bottom
line and writes a new one with a core font (ImageText8), as xterm does for every line of
output, and shows the frame number in a status bar under the text, drawn with solid
fills (PolyFillRectangle). Everything is lossless-friendly: this workload measures what a
server spends on text, copies and fills. It is our own program rather than xterm so that
each frame is numbered and timed (see animation.py for the protocol).
"""

from __future__ import annotations

import argparse

import xcffib
import xcffib.xproto as xp

from animation import BLACK, WHITE, animate, window
from framecode import CELL, bits_of, strip_size

WORDS = ["drwxr-xr-x", "root", "staff", "4096", "Mar", "share", "doc", "lib", "locale", "man"]


def line_text(number: int, columns: int) -> bytes:
    words = [WORDS[(number * 7 + i * 3) % len(WORDS)] for i in range(8)]
    text = f"{number:6d} {' '.join(words)} {number * 2654435761 % 10**9:09d}"
    return text[:columns].ljust(columns).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--cache", help="unused: it draws no pictures")
    parser.add_argument("--at", default="40,40", help="X,Y of the window")
    parser.add_argument("--size", default="100x40", help="COLUMNSxROWS of text")
    parser.add_argument("--fps", type=float, default=60.0)
    args = parser.parse_args()
    x, y = (int(v) for v in args.at.split(","))
    columns, rows = (int(v) for v in args.size.split("x"))
    conn = xcffib.connect(display=args.display)
    font = conn.generate_id()
    conn.core.OpenFont(font, len("fixed"), "fixed")
    info = conn.core.QueryFont(font).reply()
    char_width = info.max_bounds.character_width
    line_height = info.font_ascent + info.font_descent
    text_height = rows * line_height
    bar = CELL + 8
    width = max(columns * char_width, strip_size()[0] + 16)
    wid = window(conn, x, y, width, text_height + bar)
    text_gc, paper_gc, ink_gc = (conn.generate_id() for _ in range(3))
    conn.core.CreateGC(
        text_gc, wid, xp.GC.Foreground | xp.GC.Background | xp.GC.Font, [BLACK, WHITE, font]
    )
    conn.core.CreateGC(paper_gc, wid, xp.GC.Foreground | xp.GC.GraphicsExposures, [WHITE, 0])
    conn.core.CreateGC(ink_gc, wid, xp.GC.Foreground, [BLACK])
    conn.core.PolyFillRectangle(wid, paper_gc, 1, [xp.RECTANGLE.synthetic(0, 0, width, 10000)])

    def draw(number: int) -> None:
        conn.core.CopyArea(
            wid, wid, paper_gc, 0, line_height, 0, 0, width, text_height - line_height
        )
        bottom = text_height - line_height
        conn.core.PolyFillRectangle(
            wid, paper_gc, 1, [xp.RECTANGLE.synthetic(0, bottom, width, line_height)]
        )
        text = line_text(number, columns)
        conn.core.ImageText8(len(text), wid, text_gc, 0, bottom + info.font_ascent, text)
        white: list[xp.RECTANGLE] = []
        black: list[xp.RECTANGLE] = []
        for i, bit in enumerate(bits_of(number)):
            cell = xp.RECTANGLE.synthetic(8 + i * CELL, text_height + 4, CELL, CELL)
            (white if bit else black).append(cell)
        conn.core.PolyFillRectangle(wid, paper_gc, len(white), white)
        conn.core.PolyFillRectangle(wid, ink_gc, len(black), black)

    animate(conn, draw, (x + 8, y + text_height + 4), args.fps)


if __name__ == "__main__":
    main()
