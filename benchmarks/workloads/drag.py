"""A window dragged across a desktop, the way a window manager moves one.

A full-screen wallpaper (a landscape, as the X server's own background pixmap of a
bottom window) lies under a textured 320x240 window. While button 1 is held on that
window, each pointer motion moves it to follow the pointer (ConfigureWindow), so the X
server copies the window's pixels to the new place and repaints the wallpaper it
uncovered, as on a real desktop. Motion events that queue up are merged, as window
managers do: only the newest position is applied.

The window carries a marker at (MARKER, MARKER) from its top left: four QUAD-pixel
squares, red, green, blue and yellow, which the client looks for to see the window at a
position. Protocol (stdin, stdout): prints ``{"ready": true}``; ``still`` answers
``{"still": MOVES, "t": T}``, the time of the last move; ``quit`` prints
``{"moves": [[x, y, t], ...]}`` (each move's CLOCK_MONOTONIC time after its round trip).
"""

from __future__ import annotations

import argparse
import select
import sys
import time

import numpy as np
import xcffib
import xcffib.xproto as xp

from animation import pixmap_of, say, window
from scenery import cached_landscape

MARKER = 8
QUAD = 10
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def decorated(width: int, height: int, cache: str | None) -> np.ndarray:
    """The dragged window's pixels: a picture under a title bar, and the marker."""
    pixels = cached_landscape(width, height, seed=3, cache=cache).copy()
    pixels[:28] = 0x3A5F8A  # a title bar, flat like a real one
    pixels[:, :2] = pixels[:, -2:] = pixels[-2:] = 0x3A5F8A
    for (qx, qy), (red, green, blue) in zip(((0, 0), (1, 0), (0, 1), (1, 1)), COLOURS, strict=True):
        top, left = MARKER + qy * QUAD, MARKER + qx * QUAD
        pixels[top : top + QUAD, left : left + QUAD] = red << 16 | green << 8 | blue
    return pixels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--display", required=True)
    parser.add_argument("--cache", help="a directory to keep generated pictures in")
    parser.add_argument("--at", default="100,100", help="X,Y of the window at the start")
    parser.add_argument("--size", default="320x240")
    args = parser.parse_args()
    x, y = (int(v) for v in args.at.split(","))
    width, height = (int(v) for v in args.size.split("x"))
    conn = xcffib.connect(display=args.display)
    screen = conn.get_setup().roots[0]
    full = cached_landscape(screen.width_in_pixels, screen.height_in_pixels, 2, cache=args.cache)
    wallpaper = pixmap_of(conn, full)
    window(conn, 0, 0, screen.width_in_pixels, screen.height_in_pixels, background_pixmap=wallpaper)
    events = xp.EventMask.ButtonPress | xp.EventMask.ButtonRelease | xp.EventMask.Button1Motion
    dragged = window(
        conn,
        x,
        y,
        width,
        height,
        background_pixmap=pixmap_of(conn, decorated(width, height, args.cache)),
        events=events,
    )
    conn.core.GetInputFocus().reply()
    say({"ready": True})
    moves: list[tuple[int, int, float]] = []
    grab: tuple[int, int] | None = None
    fd = conn.get_file_descriptor()
    while True:
        readable, _, _ = select.select([fd, sys.stdin], [], [])
        if sys.stdin in readable:
            line = sys.stdin.readline().strip()
            if line == "still":  # the client has let go: when did the window last move?
                say({"still": len(moves), "t": moves[-1][2] if moves else time.monotonic()})
            elif line in ("quit", ""):
                say({"moves": moves})
                return
        target = None
        while (event := conn.poll_for_event()) is not None:
            if isinstance(event, xp.ButtonPressEvent) and event.detail == 1:
                grab = (event.event_x, event.event_y)
            elif isinstance(event, xp.ButtonReleaseEvent) and event.detail == 1:
                grab = None
            elif isinstance(event, xp.MotionNotifyEvent) and grab is not None:
                target = (event.root_x - grab[0], event.root_y - grab[1])
        if target is not None:
            position = [v & 0xFFFFFFFF for v in target]  # INT16s, sent as CARD32s
            conn.core.ConfigureWindow(dragged, xp.ConfigWindow.X | xp.ConfigWindow.Y, position)
            conn.core.GetInputFocus().reply()
            moves.append((*target, time.monotonic()))


if __name__ == "__main__":
    main()
