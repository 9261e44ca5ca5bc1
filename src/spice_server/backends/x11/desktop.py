"""The x11 back end: share a running X display (physical, or Xvfb with a desktop).

Everything runs on the server's loop, through the same core the server uses: the X
connection's socket is one more watch. This module wires the parts, each with one job:
``connection`` (the socket, the event pump, fences), ``capture`` (DAMAGE into the
Display through MIT-SHM), ``cursor`` (XFIXES), ``input`` (XTEST), ``randr`` (the
screen's size), ``clipboard`` (the X selections) and ``sound`` (the default sink).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import xcffib.damage
import xcffib.xfixes
import xcffib.xproto as xp

from ...core.base import Core, Timer
from ...interfaces.base import Interface, InterfaceError
from ...interfaces.display import Display
from ...interfaces.playback import PlaybackInterface
from ...protocol.agent import MonitorConfig
from ...server import Server
from .capture import ScreenCapture
from .clipboard import XClipboard
from .connection import Clock, X11Error, XConnection
from .cursor import CursorShape
from .input import X11Keyboard, X11Mouse, X11Tablet, XTest
from .keymap import x_keycode
from .randr import ScreenSize
from .resizing import ResizePolicy, SizeKeeper
from .sound import DesktopSound

log = logging.getLogger(__name__)

HOUSEKEEPING_MS = 1000
REQUIRED_EXTENSIONS = ("MIT-SHM", "DAMAGE", "XFIXES", "XTEST")
XK_ESCAPE, XK_UP = 0xFF1B, 0xFF52
ESCAPE, UP = 0x01, 0x148  # their scancodes


class X11Display(Display):
    """The X screen; a client's monitors become its RandR outputs (see ``randr``) where
    the resize policy lets them (``resizing``)."""

    description = "X11 screen"

    def __init__(self, screen: SizeKeeper, width: int, height: int) -> None:
        super().__init__(width, height)
        self.screen = screen
        self.max_monitors = screen.max_monitors

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        return bool(self.screen.configure(monitors))


class X11Desktop:
    """Exports one X display through a Server. ``start(core)`` connects and registers."""

    def __init__(
        self,
        server: Server,
        display_name: str | None = None,
        *,
        on_lost: Callable[[str], None] | None = None,
        sound: bool = True,
        resize: ResizePolicy = "virtual",
        restore_size: bool = True,
        started_here: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        """``sound`` also plays the desktop's sound to clients, when it can be captured;
        ``resize`` says when clients' window sizes change the X screen (resizing.py;
        ``started_here``: spice-server started this X server), ``restore_size`` gives the
        screen its size back when the last client leaves; ``clock`` is the time every
        part reads."""
        self.server = server
        self.display_name = display_name
        self.on_lost = on_lost
        self.clock = clock
        self.resize_policy = resize
        self.restore_size = restore_size
        self.started_here = started_here
        self.sound = DesktopSound(PlaybackInterface(), clock=clock) if sound else None
        self.x: XConnection | None = None
        self.core: Core | None = None
        self.interfaces: list[Interface] = []
        self._housekeeping: Timer | None = None

    @property
    def lost(self) -> bool:
        return self.x is not None and self.x.lost

    # -- life cycle ----------------------------------------------------------------------

    def connect(self) -> None:
        """Connect to the X display and check it can be exported (X11Error if not); the
        command does this before the server listens, so a wrong display fails first."""
        if self.x is not None:
            return
        x = XConnection(self.display_name, self.clock)
        try:
            _check(x)
        except X11Error:
            x.close()
            raise
        self.x = x

    def start(self, core: Core) -> None:
        self.core = core
        self.connect()
        x = self.x
        assert x is not None
        x.conn(xcffib.damage.key).QueryVersion(1, 1).reply()
        x.conn(xcffib.xfixes.key).QueryVersion(5, 0).reply()
        width, height = x.screen.width_in_pixels, x.screen.height_in_pixels

        self.screen = ScreenSize(
            x,
            lambda: (self.display.width, self.display.height),
            self._resized,
            lambda monitors: self.display.set_monitors(monitors),
        )
        self.sizes = SizeKeeper(
            self.screen,
            (width, height),
            self.resize_policy,
            started_here=self.started_here,
            restore=self.restore_size,
        )
        self.display = X11Display(self.sizes, width, height)
        self.screen.report()
        self.capture = ScreenCapture(x, self.display)
        self.cursor = CursorShape(x, self.display)
        self.clipboard = XClipboard(x)
        xtest = XTest(x, self.capture.input_injected)
        x.handlers += [
            self.capture.handle,
            self.cursor.handle,
            self.screen.handle,
            self.clipboard.handle_event,
        ]
        x.on_lost = self._connection_lost
        self.interfaces = [
            self.display,
            X11Keyboard(xtest),
            X11Mouse(xtest, self.display),
            X11Tablet(xtest),
            self.clipboard,
        ]
        if self.sound is not None:
            self.interfaces.append(self.sound.playback)
        for interface in self.interfaces:
            self.server.add_interface(interface)
        if self.sound is not None:
            self.sound.start()
        self.capture.start(core)
        self._housekeeping = core.timer_add(self._tidy)
        core.timer_start(self._housekeeping, HOUSEKEEPING_MS)
        x.start(core)
        log.info("exporting X display %s (%dx%d)", x.name, width, height)

    def stop(self) -> None:
        """Unregister and disconnect from X (also what happens when X goes away)."""
        if self.core is not None and self._housekeeping is not None:
            self.core.timer_remove(self._housekeeping)
            self._housekeeping = None
        if self.sound is not None:
            self.sound.stop()
        for interface in self.interfaces:
            with contextlib.suppress(InterfaceError):  # already gone: nothing to undo
                self.server.remove_interface(interface)
        self.interfaces = []
        x = self.x
        if x is None:
            return
        if self.core is None:  # connected, never started
            x.close()
            self.x = None
            return
        if not x.lost:
            self.sizes.clients_left()
        self.capture.close()
        if not x.lost:
            self.clipboard.close()
        x.close()

    def _connection_lost(self, reason: str) -> None:
        self.stop()
        self.server.disconnect_clients(f"the X display {self.display_name or ''} went away")
        if self.on_lost is not None:
            self.on_lost(reason)

    def _resized(self, width: int, height: int) -> None:
        self.capture.resize(width, height)

    def _tidy(self, opaque: object) -> None:
        if self.x is not None:
            self.x.guarded(self.clipboard.expire)
            if self.server.session_count == 0:
                self.sizes.clients_left()
        if self.core is not None and self._housekeeping is not None:
            self.core.timer_start(self._housekeeping, HOUSEKEEPING_MS)


def _check(x: XConnection) -> None:
    """Refuse X servers the back end cannot export; warn about keycodes it may get wrong."""
    missing = [name for name in REQUIRED_EXTENSIONS if not x.has_extension(name)]
    if missing:
        raise X11Error(f"the X server lacks {', '.join(missing)}")
    setup, screen = x.setup, x.screen
    formats = {f.depth: f.bits_per_pixel for f in setup.pixmap_formats}
    if screen.root_depth not in (24, 32) or formats.get(screen.root_depth) != 32:
        raise X11Error(f"unsupported X screen depth {screen.root_depth}; 24 or 32 needed")
    if setup.image_byte_order != xp.ImageOrder.LSBFirst:
        raise X11Error("the X server's image byte order is not little-endian")
    # The key mapping assumes evdev keycodes (evdev + 8). Escape and Up carry the same
    # keysyms in every layout, so they tell the keycode set apart without the layout.
    first = setup.min_keycode
    reply = x.conn.core.GetKeyboardMapping(first, setup.max_keycode - first + 1).reply()
    per, keysyms = reply.keysyms_per_keycode, list(reply.keysyms)

    def keysym(scancode: int) -> int:
        index = ((x_keycode(scancode) or 0) - first) * per
        return keysyms[index] if 0 <= index < len(keysyms) else 0

    if keysym(ESCAPE) != XK_ESCAPE or keysym(UP) != XK_UP:
        log.warning("the X server's keycodes are not evdev's: keys may come out wrong")
