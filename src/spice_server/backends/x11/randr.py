"""The screen's size through RandR: a client's window size asks for it, X says it changed.

Xorg (also with its dummy driver) switches to any size, making a mode when it has none;
Xvfb cannot grow past the size it started with and refuses, which is logged while the
client keeps its size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import xcffib
import xcffib.randr
import xcffib.xproto as xp

from .connection import XConnection, XEvent, x_call

log = logging.getLogger(__name__)

MIN_SIZE = 64
DPI = 96


class RandrError(Exception):
    pass


class ScreenSize:
    """Resizes the X screen on request and reports its changes to ``on_resized``.

    ``size`` gives the size the rest of the back end is at, so that a change it already
    follows is not reported twice.
    """

    def __init__(
        self,
        x: XConnection,
        size: Callable[[], tuple[int, int]],
        on_resized: Callable[[int, int], None],
    ) -> None:
        self.x = x
        self.size = size
        self.on_resized = on_resized
        self.randr: xcffib.randr.randrExtension | None = None
        if not x.has_extension("RANDR"):
            log.warning("the X server has no RandR: clients cannot resize it")
            return
        self.randr = x.conn(xcffib.randr.key)
        self.randr.QueryVersion(1, 5).reply()
        self.randr.SelectInput(x.root, xcffib.randr.NotifyMask.ScreenChange)

    def current(self) -> tuple[int, int]:
        return self.size()

    def handle(self, event: XEvent) -> bool:
        if not isinstance(event, xcffib.randr.ScreenChangeNotifyEvent):
            return False
        if (event.width, event.height) != self.size():
            geometry = self.x.conn.core.GetGeometry(self.x.root).reply()
            log.info("the X screen is now %dx%d", geometry.width, geometry.height)
            self.on_resized(geometry.width, geometry.height)
        return True

    @x_call
    def resize(self, width: int, height: int) -> bool:
        """Ask RandR for a width x height screen; False (logged) where the server refuses."""
        width &= ~7
        if self.randr is None or width < MIN_SIZE or height < MIN_SIZE:
            return False
        if (width, height) == self.size():
            return True
        try:
            randr_resize(self.x.conn, self.randr, self.x.root, width, height)
        except (xcffib.XcffibException, RandrError) as exc:
            log.warning("the X server cannot change to %dx%d: %s", width, height, _why(exc))
            return False
        return True


def _why(exc: Exception) -> str:
    """A refusal in words: xcffib's errors print as nothing, so name the error and the
    request it answered."""
    if isinstance(exc, RandrError):
        return str(exc)
    request = getattr(exc, "minor_opcode", None)
    to = f" to RandR request {request}" if request is not None else ""
    return f"it answered {type(exc).__name__}{to}"


def randr_resize(
    conn: xcffib.Connection, randr: xcffib.randr.randrExtension, root: int, width: int, height: int
) -> None:
    """Switch the first connected output to a width x height mode, making it if needed."""
    limits = randr.GetScreenSizeRange(root).reply()
    if not (
        limits.min_width <= width <= limits.max_width
        and limits.min_height <= height <= limits.max_height
    ):
        raise RandrError(
            f"its screen can be {limits.min_width}x{limits.min_height} "
            f"to {limits.max_width}x{limits.max_height}"
        )
    resources = randr.GetScreenResourcesCurrent(root).reply()
    output, crtc = None, None
    for candidate in resources.outputs:
        info = randr.GetOutputInfo(candidate, resources.config_timestamp).reply()
        if info.connection == xcffib.randr.Connection.Connected and info.crtc:
            output, crtc = candidate, info.crtc
            break
    if output is None or crtc is None:
        raise RandrError("no connected output")
    mode = next((m.id for m in resources.modes if (m.width, m.height) == (width, height)), None)
    if mode is None:
        mode = _add_mode(randr, root, output, width, height)
    current = conn.core.GetGeometry(root).reply()
    mm_width, mm_height = int(width * 25.4 / DPI), int(height * 25.4 / DPI)
    if width > current.width or height > current.height:
        randr.SetScreenSizeChecked(
            root, max(width, current.width), max(height, current.height), mm_width, mm_height
        ).check()
    status = (
        randr.SetCrtcConfig(
            crtc,
            xp.Time.CurrentTime,
            resources.config_timestamp,
            0,
            0,
            mode,
            xcffib.randr.Rotation.Rotate_0,
            1,
            [output],
        )
        .reply()
        .status
    )
    if status != xcffib.randr.SetConfig.Success:
        raise RandrError(f"SetCrtcConfig status {status}")
    randr.SetScreenSizeChecked(root, width, height, mm_width, mm_height).check()


def _add_mode(
    randr: xcffib.randr.randrExtension, root: int, output: int, width: int, height: int
) -> int:
    """A 60 Hz mode of this size, added to ``output``."""
    name = f"{width}x{height}"
    htotal, vtotal = width + 160, height + 25
    mode_info = xcffib.randr.ModeInfo.synthetic(
        0,
        width,
        height,
        htotal * vtotal * 60,
        width + 48,
        width + 80,
        htotal,
        0,
        height + 3,
        height + 7,
        vtotal,
        len(name),
        0,
    )
    mode: int = randr.CreateMode(root, mode_info, len(name), name).reply().mode
    randr.AddOutputModeChecked(output, mode).check()
    return mode
