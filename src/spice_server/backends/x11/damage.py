"""Where the X screen changed: one region read per frame, not one event per rectangle.

The DAMAGE object on the root window reports at the NonEmpty level: one event when its
region goes from empty to not empty, however much is drawn after that. At capture time
the region is moved into an XFIXES region (DamageSubtract empties the damage object in
the same request, so drawing that follows raises a new event) and fetched in one reply.
Raw-rectangle events cost xcffib a Python object each and an X client that draws without
pause (a terminal scrolling ``ls -lR``) sends them faster than they can be read.

The reply's rectangles are read straight from its bytes with numpy. A few rectangles are
gathered into a tile map and captured as the boxes of its connected parts (trimmed to
the rectangles in them); a flood of them
is captured as their bounding box, whose unchanged pixels the framebuffer's comparison
drops before anything is sent.
"""

from __future__ import annotations

import numpy as np
import xcffib
import xcffib.damage
import xcffib.xfixes

from ...display.damage import TileMap
from ...protocol.rect import Rect

FLOOD_RECTS = 64  # more rectangles than this in one frame: capture their bounding box
REPLY_HEADER = 32  # bytes before a FetchRegion reply's list of rectangles
EXTENTS = slice(8, 16)
# xproto RECTANGLE in the connection's (native) byte order.
RECTANGLE = np.dtype([("x", "=i2"), ("y", "=i2"), ("width", "=u2"), ("height", "=u2")])


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

    def rects(self, cookie: xcffib.Cookie) -> list[Rect]:
        """The damage ``request`` asked for as rectangles to capture, clipped to the screen."""
        reply = bytes(self.conn.wait_for_reply(cookie.sequence).buf)
        rects = np.frombuffer(reply, RECTANGLE, offset=REPLY_HEADER)
        bounds = Rect(0, 0, self.tiles.width, self.tiles.height)
        if len(rects) > FLOOD_RECTS:
            extents = np.frombuffer(reply[EXTENTS], RECTANGLE)[0]
            box = Rect.from_size(*(int(v) for v in extents)).intersect(bounds)
            return [] if box.is_empty() else [box]
        reported = [Rect.from_size(*rect) for rect in rects.tolist()]
        for rect in reported:
            self.tiles.mark(rect.left, rect.top, rect.width, rect.height)
        return [_tight(box, reported) for box in self.tiles.take()]


def _tight(box: Rect, reported: list[Rect]) -> Rect:
    """A box of whole tiles trimmed to the rectangles X reported in it: a window that is
    not on the tile grid is captured as itself. (Its unchanged margin would be trimmed by
    the pixel comparison, but a pan found there moves the margin too, and the pixels put
    back around it would be changes outside the window: a stream grown past its edges.)"""
    inside = [rect.intersect(box) for rect in reported]
    inside = [rect for rect in inside if not rect.is_empty()]
    if not inside:
        return box
    return Rect(
        min(r.left for r in inside),
        min(r.top for r in inside),
        max(r.right for r in inside),
        max(r.bottom for r in inside),
    )
