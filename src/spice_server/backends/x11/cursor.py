"""The pointer's shape, from XFIXES: the clients draw it themselves, in any mouse mode."""

from __future__ import annotations

import logging

import numpy as np
import xcffib.xfixes
import xcffib.xproto

from ...display.cursor import CursorImage
from ...interfaces.display import Display
from .connection import XConnection, XEvent

log = logging.getLogger(__name__)


class CursorShape:
    """Sends the X cursor's image to ``display`` now and whenever it changes."""

    def __init__(self, x: XConnection, display: Display) -> None:
        self.display = display
        self.xfixes = x.conn(xcffib.xfixes.key)
        self.xfixes.SelectCursorInput(x.root, xcffib.xfixes.CursorNotifyMask.DisplayCursor)
        self.update()

    def handle(self, event: XEvent) -> bool:
        if not isinstance(event, xcffib.xfixes.CursorNotifyEvent):
            return False
        self.update()
        return True

    def update(self) -> None:
        try:
            image = self.xfixes.GetCursorImageAndName().reply()
        except xcffib.xproto.AccessError:
            # The X server refuses to show a cursor whose creator has freed it and gone
            # (xsetroot -cursor_name does that); the client keeps the previous shape.
            log.debug("the X server will not show the current cursor")
            return
        if not image.width or not image.height:
            self.display.hide_cursor()
            return
        pixels = np.array(image.cursor_image, dtype=np.uint32).tobytes()
        try:
            cursor = CursorImage(
                image.width,
                image.height,
                min(image.xhot, image.width - 1),
                min(image.yhot, image.height - 1),
                pixels,
            )
        except ValueError as exc:
            log.debug("cursor not shown: %s", exc)
            return
        self.display.set_cursor(cursor)
