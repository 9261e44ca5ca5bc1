"""The display interface, made for Python back ends: a framebuffer you write to.

libspice-server's QXL interface has the device push drawing commands; a Python back end
has pixels (a numpy array, a captured X image, a rendered frame). So here the back end
drives: ``update`` writes pixels anywhere, ``resize`` changes the surface, and the cursor
methods set the pointer's shape and position. All of them may be called from any thread and
return at once; the server sends what changed when each client is ready for it, latest
pixels first, so a slow client skips intermediate frames instead of queueing them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from ..display.cursor import CursorImage, default_arrow
from ..display.framebuffer import Framebuffer, as_pixels
from ..protocol.agent import MonitorConfig
from ..protocol.rect import Rect
from .base import Interface
from .events import CursorChanged, PixelsChanged, Resized


class Display(Interface):
    """A 32-bit BGRX primary surface, its pointer, and the monitors that show it.

    ``display_id`` becomes the SPICE display channel id (and its cursor channel's). By
    default one monitor shows the whole surface; a back end whose surface spans several
    (an X screen with several outputs) says where each is with ``set_monitors``, and
    clients open a window per monitor. ``max_monitors`` is how many it could show.
    """

    type: ClassVar[str] = "display"
    description: ClassVar[str] = "framebuffer display"
    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 0

    def __init__(self, width: int = 1024, height: int = 768, *, display_id: int = 0) -> None:
        if not 0 <= display_id < 256:
            raise ValueError("display_id must be 0..255")
        self.display_id = display_id
        self.framebuffer = Framebuffer(width, height)
        self._cursor_lock = threading.Lock()
        self._cursor = default_arrow()
        self._cursor_visible = True
        self._cursor_position = (0, 0)
        self.cursor_serial = 0  # bumped when the shape or visibility changes
        self.cursor_position_serial = 0
        self.max_monitors = 1
        self._monitors_lock = threading.Lock()
        self._monitors: tuple[Rect, ...] = ()
        self.monitors_serial = 0  # bumped when the monitors change

    @property
    def width(self) -> int:
        return self.framebuffer.width

    @property
    def height(self) -> int:
        return self.framebuffer.height

    # -- pixels --------------------------------------------------------------------------

    def update(
        self,
        pixels: np.ndarray | bytes | bytearray | memoryview,
        x: int = 0,
        y: int = 0,
        *,
        width: int | None = None,
        stride: int | None = None,
        diff: bool = True,
        drawn: Sequence[Rect] = (),
    ) -> None:
        """Write pixels with their top-left corner at (x, y); what falls outside is clipped.

        ``pixels`` is a (h, w) uint32 array (0xXXRRGGBB), a (h, w, 4) uint8 array (B, G, R, X),
        or bytes of such rows with ``width`` (and ``stride`` if rows are padded). With
        ``diff`` only pixels that really changed are sent, so a back end may pass whole
        frames; ``diff=False`` skips the comparison when the caller knows it all changed.
        ``drawn``: the parts of the area the program drew (screen coordinates; none given:
        all of it). Where pixels are not compared (``diff=False``, and in a video stream's
        area, which changes whole every frame) only these count as changed: a window over
        a video stays out of the video's frames.
        """
        array = as_pixels(pixels, width, stride)
        if self.framebuffer.write(array, x, y, diff=diff, drawn=drawn):
            self._changed(PixelsChanged())

    def fill(self, x: int, y: int, width: int, height: int, color: int) -> None:
        """Fill a rectangle with one 0xRRGGBB colour."""
        if self.framebuffer.fill(Rect.from_size(x, y, width, height), color & 0xFFFFFF):
            self._changed(PixelsChanged())

    def resize(self, width: int, height: int, pixels: np.ndarray | None = None) -> None:
        """Replace the surface with a new one of this size (black, or ``pixels``)."""
        self.framebuffer.resize(width, height, None if pixels is None else as_pixels(pixels))
        self._changed(Resized())

    def invalidate(
        self, x: int = 0, y: int = 0, width: int | None = None, height: int | None = None
    ) -> None:
        """Send this area (default: everything) to every client again."""
        w = self.width - x if width is None else width
        h = self.height - y if height is None else height
        self.framebuffer.invalidate(Rect.from_size(x, y, w, h))
        self._changed(PixelsChanged())

    def snapshot(self) -> np.ndarray:
        """A copy of the whole surface as (h, w) uint32."""
        return self.framebuffer.snapshot()

    # -- monitors ------------------------------------------------------------------------

    def set_monitors(self, monitors: Sequence[Rect]) -> None:
        """The monitors showing this surface, each an area of it (none: the whole surface)."""
        with self._monitors_lock:
            if tuple(monitors) == self._monitors:
                return
            self._monitors = tuple(monitors)
            self.monitors_serial += 1
        self._changed(Resized())

    def monitor_heads(self) -> tuple[tuple[Rect, ...], int]:
        """The monitors clipped to the surface as it is now, and their serial: what clients
        are told. Areas off the surface (it is about to grow) are left out until it has."""
        surface = Rect(0, 0, self.width, self.height)
        with self._monitors_lock:
            monitors, serial = self._monitors, self.monitors_serial
        heads = tuple(head for m in monitors if not (head := m.intersect(surface)).is_empty())
        return heads or (surface,), serial

    # -- pointer -------------------------------------------------------------------------

    def set_cursor(self, cursor: CursorImage) -> None:
        """Change the pointer's shape (and show it)."""
        with self._cursor_lock:
            self._cursor = cursor
            self._cursor_visible = True
            self.cursor_serial += 1
        self._changed(CursorChanged())

    def hide_cursor(self) -> None:
        with self._cursor_lock:
            if not self._cursor_visible:
                return
            self._cursor_visible = False
            self.cursor_serial += 1
        self._changed(CursorChanged())

    def show_cursor(self) -> None:
        with self._cursor_lock:
            if self._cursor_visible:
                return
            self._cursor_visible = True
            self.cursor_serial += 1
        self._changed(CursorChanged())

    def move_cursor(self, x: int, y: int) -> None:
        """Where the pointer is drawn; clients in server mouse mode show it there."""
        with self._cursor_lock:
            self._cursor_position = (x, y)
            self.cursor_position_serial += 1
        self._changed(CursorChanged())

    def cursor_state(self) -> tuple[CursorImage, bool, tuple[int, int], int, int]:
        """Shape, visibility, position and both serials, read together."""
        with self._cursor_lock:
            return (
                self._cursor,
                self._cursor_visible,
                self._cursor_position,
                self.cursor_serial,
                self.cursor_position_serial,
            )

    # -- client requests -----------------------------------------------------------------

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        """A client asks for these monitors: all of them, one per window it shows (a
        window was resized, opened or closed), each with its size and place.

        Called on the server's loop when the client's agent sends MONITORS_CONFIG. Return
        True if the request is being honoured (typically by calling ``resize`` and, for
        several monitors, ``set_monitors`` once the new layout is in effect). The default
        does nothing and returns False; back ends that can change their size override it.
        """
        return False
