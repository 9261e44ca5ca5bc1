"""What the numbered workloads share: their windows, their frame loop and its log.

Every animated workload paints frame 1, 2, 3 ... at a fixed rate, each with its number
in a strip of cells (framecode), waits until the X server has processed the frame (a
round trip), and notes that CLOCK_MONOTONIC time. The benchmark drives it over stdin and
stdout, one line each way:

- once its first frame is on the X screen the workload prints
  ``{"ready": true, "strip": [X, Y, CELL]}``: where on the screen its numbers are;
- ``still`` makes it paint one last frame and stop moving; it answers ``{"still": N, "t": T}``;
- ``quit`` makes it print ``{"frames": [[number, time], ...]}`` and exit.

Windows are override-redirect (no window manager runs) and show no pointer: Xspice draws
the pointer into its framebuffer, which would make its screen differ from the X screen
wherever the pointer rests.
"""

from __future__ import annotations

import json
import select
import sys
import time
from collections.abc import Callable

import numpy as np
import xcffib
import xcffib.xproto as xp

from framecode import CELL
from xshm import Segment

BLACK, WHITE = 0x000000, 0xFFFFFF


def window(
    conn: xcffib.Connection,
    x: int,
    y: int,
    width: int,
    height: int,
    *,
    background_pixmap: int | None = None,
    events: int = 0,
) -> int:
    """A mapped override-redirect window on the root, with an invisible pointer."""
    screen = conn.get_setup().roots[0]
    wid = conn.generate_id()
    mask, values = 0, list[int]()
    if background_pixmap is not None:
        mask, values = mask | xp.CW.BackPixmap, [*values, background_pixmap]
    mask, values = mask | xp.CW.OverrideRedirect, [*values, 1]
    if events:
        mask, values = mask | xp.CW.EventMask, [*values, events]
    mask, values = mask | xp.CW.Cursor, [*values, invisible_cursor(conn, screen.root)]
    conn.core.CreateWindow(
        screen.root_depth,
        wid,
        screen.root,
        x,
        y,
        width,
        height,
        0,
        xp.WindowClass.InputOutput,
        screen.root_visual,
        mask,
        values,
    )
    conn.core.MapWindow(wid)
    return wid


def invisible_cursor(conn: xcffib.Connection, root: int) -> int:
    blank = conn.generate_id()
    conn.core.CreatePixmap(1, blank, root, 1, 1)
    cursor = conn.generate_id()
    conn.core.CreateCursor(cursor, blank, blank, 0, 0, 0, 0, 0, 0, 0, 0)
    return cursor


def pixmap_of(conn: xcffib.Connection, pixels: np.ndarray) -> int:
    """A server-side pixmap holding ``pixels`` ((h, w) uint32 0x00RRGGBB), sent in bands
    small enough for one PutImage request each."""
    screen = conn.get_setup().roots[0]
    height, width = pixels.shape
    pixmap, gc = conn.generate_id(), conn.generate_id()
    conn.core.CreatePixmap(screen.root_depth, pixmap, screen.root, width, height)
    conn.core.CreateGC(gc, pixmap, 0, [])
    band = max(1, 60000 // width)
    for top in range(0, height, band):
        rows = np.ascontiguousarray(pixels[top : top + band])
        conn.core.PutImage(
            xp.ImageFormat.ZPixmap,
            pixmap,
            gc,
            width,
            rows.shape[0],
            0,
            top,
            0,
            screen.root_depth,
            len(rows.data),
            rows.tobytes(),
        )
    conn.core.FreeGC(gc)
    return pixmap


class ShmImage:
    """A frame in shared memory that the X server copies into a window (MIT-SHM PutImage),
    the way a video player or image viewer without GL draws."""

    def __init__(self, conn: xcffib.Connection, drawable: int, width: int, height: int) -> None:
        self.conn, self.drawable = conn, drawable
        self.width, self.height = width, height
        self.depth = conn.get_setup().roots[0].root_depth
        self.gc = conn.generate_id()
        conn.core.CreateGC(self.gc, drawable, 0, [])
        self.segment = Segment(conn, width * height * 4)
        self.pixels = self.segment.memory.view(np.uint32).reshape(height, width)

    def put(self, x: int = 0, y: int = 0) -> None:
        w, h = self.width, self.height
        self.segment.shm.PutImage(
            self.drawable,
            self.gc,
            w,
            h,
            0,
            0,
            w,
            h,
            x,
            y,
            self.depth,
            xp.ImageFormat.ZPixmap,
            0,
            self.segment.segment,
            0,
        )


def say(message: str | dict) -> None:
    print(message if isinstance(message, str) else json.dumps(message), flush=True)


def command(timeout: float) -> str | None:
    """The next line from the benchmark within ``timeout`` seconds, '' at end of input."""
    readable, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout))
    if not readable:
        return None
    return sys.stdin.readline().strip() or ""


def animate(
    conn: xcffib.Connection,
    draw: Callable[[int], None],
    strip: tuple[int, int],
    fps: float = 60.0,
) -> None:
    """Paint frame after frame at ``fps`` until told to stop (see the module docstring).
    ``draw(n)`` issues the X requests for frame n, with its number at screen position
    ``strip``; here it is flushed and timed."""
    log: list[tuple[int, float]] = []
    period = 1 / fps
    number, moving = 0, True
    due = time.monotonic()

    def paint() -> float:
        nonlocal number
        number += 1
        draw(number)
        conn.core.GetInputFocus().reply()  # the X server has processed the frame
        now = time.monotonic()
        log.append((number, now))
        return now

    paint()
    say({"ready": True, "strip": [*strip, CELL]})
    while True:
        due += period
        line = command(due - time.monotonic() if moving else 3600.0)
        if line is None:
            if time.monotonic() - due > period:  # fell behind: drop ticks, do not burst
                due = time.monotonic()
            paint()
        elif line == "still" and moving:
            moving = False
            say({"still": number + 1, "t": paint()})
        elif line in ("quit", ""):
            say({"frames": log})
            return
