"""Where the X screen changed: one region read per frame, not one event per rectangle.

The DAMAGE object on the root window reports at the NonEmpty level: one event when its
region goes from empty to not empty, however much is drawn after that. At capture time
the region is moved into an XFIXES region (DamageSubtract empties the damage object in
the same request, so drawing that follows raises a new event) and fetched in one reply.
Raw-rectangle events cost xcffib a Python object each and an X client that draws without
pause (a terminal scrolling ``ls -lR``) sends them faster than they can be read.

The reply's rectangles are read straight from its bytes with numpy, gathered into a tile
map (a few numpy calls, however many there are) and captured as the boxes of its
connected parts, trimmed to the rectangles in them. So a flooding terminal and the
terminal the user types into beside it are two boxes, not one around both: the echo is
a small rectangle, which the capture hands on first (``capture``), and the comparison
of the flood's box does not take in the screen between them. A reply of a few
rectangles (an echo, a dragged window) is grouped the same way without the map, which
would cost more than the rest of the capture's Python; each box then lists them
(``Box.drawn``): a video drawn around a window over it is one box, in which the window
is known not drawn (in a stream's area pixels are not compared).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xcffib
import xcffib.damage
import xcffib.xfixes

from ...display.damage import TileMap, tile_parts
from ...protocol.rect import Rect

MAX_TRIMMED = 64  # boxes trimmed to X's rectangles one by one; more are taken as tiles
FEW_REPORTED = 16  # up to this many rectangles are grouped in Python, without the tile map
REPLY_HEADER = 32  # bytes before a FetchRegion reply's list of rectangles
# xproto RECTANGLE in the connection's (native) byte order.
RECTANGLE = np.dtype([("x", "=i2"), ("y", "=i2"), ("width", "=u2"), ("height", "=u2")])


@dataclass(frozen=True)
class Box:
    """An area to capture, and the rectangles X reported drawn in it (none: too many to
    list, take all of it). A video under a window is reported as the parts around the
    window; its box holds the window too, which must not become part of the video."""

    rect: Rect
    drawn: tuple[Rect, ...] = ()


class DamageRegion:
    """The root window's damage, taken once per frame as rectangles to capture.

    ``request`` and ``rects`` are two halves, so that the caller need not wait between.
    """

    def __init__(self, conn: xcffib.Connection, root: int, width: int, height: int) -> None:
        self.conn = conn
        self.damage = conn(xcffib.damage.key)
        self.xfixes = conn(xcffib.xfixes.key)
        self.damage_id = conn.generate_id()
        self.damage.Create(self.damage_id, root, xcffib.damage.ReportLevel.NonEmpty)
        self.region = conn.generate_id()
        self.xfixes.CreateRegion(self.region, 0, [])
        self.tiles = TileMap(width, height)

    def resize(self, width: int, height: int) -> None:
        self.tiles = TileMap(width, height)

    def is_notify(self, event: object) -> bool:
        return isinstance(event, xcffib.damage.NotifyEvent) and event.damage == self.damage_id

    def request(self) -> xcffib.Cookie:
        """Move the damage into our region and ask for it; ``rects`` reads the reply."""
        self.damage.Subtract(self.damage_id, 0, self.region)
        return self.xfixes.FetchRegion(self.region)

    def boxes(self, cookie: xcffib.Cookie) -> list[Box]:
        """The damage ``request`` asked for as areas to capture, clipped to the screen."""
        reply = bytes(self.conn.wait_for_reply(cookie.sequence).buf)
        reported = np.frombuffer(reply, RECTANGLE, offset=REPLY_HEADER)
        if not len(reported):
            return []
        if len(reported) <= FEW_REPORTED:
            screen = Rect(0, 0, self.tiles.width, self.tiles.height)
            rects = [
                Rect.from_size(*map(int, item)).intersect(screen) for item in reported.tolist()
            ]
            rects = [rect for rect in rects if not rect.is_empty()]
            return [_with_drawn(box, rects) for box in tile_parts(rects, self.tiles.tile)]
        x, y = reported["x"].astype(np.int64), reported["y"].astype(np.int64)
        right, bottom = x + reported["width"], y + reported["height"]
        self.tiles.mark(x, y, reported["width"], reported["height"])
        boxes = self.tiles.take()
        if len(boxes) > MAX_TRIMMED:
            return [Box(box) for box in boxes]
        return [Box(_tight(box, x, y, right, bottom)) for box in boxes]


def _with_drawn(box: Rect, rects: list[Rect]) -> Box:
    """``box`` with the reported rectangles inside it; none when one alone fills it."""
    drawn = tuple(rect for rect in rects if rect.intersect(box) == rect)
    return Box(box, () if box in drawn else drawn)


def _tight(box: Rect, x: np.ndarray, y: np.ndarray, right: np.ndarray, bottom: np.ndarray) -> Rect:
    """A box of whole tiles trimmed to the rectangles X reported in it: a window that is
    not on the tile grid is captured as itself. (Its unchanged margin would be trimmed by
    the pixel comparison, but a pan found there moves the margin too, and the pixels put
    back around it would be changes outside the window: a stream grown past its edges.)"""
    left, top = np.maximum(x, box.left), np.maximum(y, box.top)
    right, bottom = np.minimum(right, box.right), np.minimum(bottom, box.bottom)
    inside = (right > left) & (bottom > top)
    if not inside.any():
        return box
    return Rect(
        int(left[inside].min()),
        int(top[inside].min()),
        int(right[inside].max()),
        int(bottom[inside].max()),
    )
