"""The x11 back end: share a running X display (physical, or Xvfb with a desktop).

Everything runs on the server's loop, through the same core the server uses: the X
connection's socket is one more watch. Pixels come from MIT-SHM, and only where the
DAMAGE extension reports changes, so an idle desktop costs nothing. The cursor comes from
XFIXES, input goes in through XTEST (scancodes become the X server's keycodes, so its own
layout applies), the clipboard is bridged to the X selections, and a client's monitors
config resizes the screen through RandR where the X server allows it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import xcffib
import xcffib.damage
import xcffib.randr
import xcffib.xfixes
import xcffib.xproto as xp
import xcffib.xtest

from ...core.base import Core, EventMask, Timer, Watch
from ...display.cursor import CursorImage
from ...interfaces.base import InterfaceError
from ...interfaces.display import Display
from ...interfaces.keyboard import KeyboardInterface
from ...interfaces.mouse import MouseInterface
from ...interfaces.playback import PlaybackInterface
from ...interfaces.tablet import TabletInterface
from ...protocol.agent import MonitorConfig
from ...protocol.constants import ButtonMask, KeyboardModifier
from ...protocol.rect import Rect
from ...server import Server
from ..scancodes import CAPS_LOCK, NUM_LOCK, SCROLL_LOCK, ScancodeDecoder
from .clipboard import XClipboard
from .damage import DamageRegion
from .keymap import x_keycode
from .shm import ShmCapture
from .sound import DesktopSound

log = logging.getLogger(__name__)

FRAME_MS = 16  # at most one capture per frame; damage in between is merged
MAX_EVENTS_PER_CALL = 200  # then the loop serves the rest before we handle more
HOUSEKEEPING_MS = 1000
REQUIRED_EXTENSIONS = ("MIT-SHM", "DAMAGE", "XFIXES", "XTEST")
BUTTONS = {
    ButtonMask.LEFT: 1,
    ButtonMask.MIDDLE: 2,
    ButtonMask.RIGHT: 3,
    ButtonMask.SIDE: 8,
    ButtonMask.EXTRA: 9,
}
# Core keyboard LEDs as XKB's default indicator map numbers them.
LEDS = (
    (1, KeyboardModifier.CAPS_LOCK),
    (2, KeyboardModifier.NUM_LOCK),
    (4, KeyboardModifier.SCROLL_LOCK),
)
LOCK_KEYS = {CAPS_LOCK, NUM_LOCK, SCROLL_LOCK}
XK_ESCAPE, XK_UP = 0xFF1B, 0xFF52

# XTEST FakeInput event types (the core protocol's event codes).
KEY_PRESS, KEY_RELEASE, BUTTON_PRESS, BUTTON_RELEASE, MOTION_NOTIFY = 2, 3, 4, 5, 6

F = TypeVar("F", bound=Callable[..., Any])


class X11Error(RuntimeError):
    """The X display cannot be exported (cannot connect, lacks an extension...)."""


def x_call(method: F) -> F:
    """Run an X-using method; a lost X connection ends the desktop instead of raising."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> Any:
        desktop = self if isinstance(self, X11Desktop) else self.desktop
        if desktop.lost:
            return None
        try:
            result = method(self, *args)
            desktop.pump_events()
            return result
        except (xcffib.ConnectionException, OSError) as exc:
            desktop.connection_lost(str(exc) or type(exc).__name__)
        except xcffib.XcffibException as exc:
            log.warning("X refused %s: %s", method.__name__, type(exc).__name__)
        return None

    return wrapper  # type: ignore[return-value]


class X11Display(Display):
    description = "X11 screen"

    def __init__(self, desktop: X11Desktop, width: int, height: int) -> None:
        super().__init__(width, height)
        self.desktop = desktop

    def client_monitors_config(self, monitors: list[MonitorConfig]) -> bool:
        if not monitors:
            return False
        return bool(self.desktop.resize_screen(monitors[0].width, monitors[0].height))


class X11Keyboard(KeyboardInterface):
    description = "X11 keyboard (XTEST)"

    def __init__(self, desktop: X11Desktop) -> None:
        self.desktop = desktop
        self.decoder = ScancodeDecoder()

    @x_call
    def push_scan_freq(self, frag: int) -> None:
        event = self.decoder.feed(frag)
        if event is None:
            return
        keycode = x_keycode(event.code)
        if keycode is None:
            log.debug("no X key for scancode %#x", event.code)
            return
        kind = KEY_PRESS if event.pressed else KEY_RELEASE
        self.desktop.fake(kind, keycode)
        if not event.pressed and event.code in LOCK_KEYS:
            self.set_leds(self.desktop.read_leds())

    def get_leds(self) -> KeyboardModifier:
        leds = self.desktop.read_leds()
        self._leds = leds
        return leds


class X11Mouse(MouseInterface):
    description = "X11 relative pointer (XTEST)"

    def __init__(self, desktop: X11Desktop) -> None:
        self.desktop = desktop

    @x_call
    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        desktop = self.desktop
        if dx or dy:
            desktop.fake(MOTION_NOTIFY, 1, 0, dx, dy)  # detail 1: relative
            pointer = desktop.conn.core.QueryPointer(desktop.root).reply()
            desktop.display.move_cursor(pointer.root_x, pointer.root_y)
        desktop.set_buttons(buttons_state)
        desktop.wheel(dz)

    @x_call
    def buttons(self, buttons_state: int) -> None:
        self.desktop.set_buttons(buttons_state)


class X11Tablet(TabletInterface):
    description = "X11 absolute pointer (XTEST)"

    def __init__(self, desktop: X11Desktop) -> None:
        self.desktop = desktop

    @x_call
    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        self.desktop.fake(MOTION_NOTIFY, 0, self.desktop.root, x, y)
        self.desktop.set_buttons(buttons_state)

    @x_call
    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        self.desktop.wheel(wheel_motion)

    @x_call
    def buttons(self, buttons_state: int) -> None:
        self.desktop.set_buttons(buttons_state)


class X11Desktop:
    """Exports one X display through a Server. ``start(core)`` connects and registers."""

    def __init__(
        self,
        server: Server,
        display_name: str | None = None,
        *,
        on_lost: Callable[[str], None] | None = None,
        sound: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sound`` also plays the desktop's sound to clients, when it can be captured;
        ``clock`` (seconds) paces the captures."""
        self.server = server
        self.clock = clock
        self.sound: DesktopSound | None = DesktopSound(PlaybackInterface()) if sound else None
        self.display_name = display_name
        self.on_lost = on_lost
        self.lost = False
        self.core: Core | None = None
        self._watch: Watch | None = None
        self._capture_timer: Timer | None = None
        self._pump_timer: Timer | None = None
        self._housekeeping: Timer | None = None
        self._next_capture = 0.0
        self._capture_pending = False
        self._buttons = 0
        self._atoms: dict[str, int] = {}
        self.interfaces: list[Any] = []

    # -- life cycle ----------------------------------------------------------------------

    def start(self, core: Core) -> None:
        self.core = core
        try:
            self.conn = xcffib.connect(display=self.display_name)
        except xcffib.ConnectionException as exc:
            raise X11Error(
                f"cannot connect to X display {self.display_name or '(default)'}: {exc}"
            ) from exc
        self._check_extensions()
        setup = self.conn.get_setup()
        screen = setup.roots[self.conn.pref_screen]
        self.root = screen.root
        self._check_pixel_format(setup, screen)
        self._check_keycodes(setup)
        width, height = screen.width_in_pixels, screen.height_in_pixels
        self.xfixes = self.conn(xcffib.xfixes.key)
        self.xtest = self.conn(xcffib.xtest.key)
        self.conn(xcffib.damage.key).QueryVersion(1, 1).reply()
        self.xfixes.QueryVersion(5, 0).reply()
        self.randr = self._randr()

        self.damaged = DamageRegion(self.conn, self.root, width, height)  # before the grab
        self.capture = ShmCapture(self.conn, self.root, width, height)
        self.display = X11Display(self, width, height)
        self.display.update(self.capture.grab(Rect(0, 0, width, height)), diff=False)
        self.xfixes.SelectCursorInput(self.root, xcffib.xfixes.CursorNotifyMask.DisplayCursor)
        self._update_cursor()
        self.clipboard = XClipboard(self.conn, self.root, self.atom)
        self.keyboard = X11Keyboard(self)
        self.interfaces = [
            self.display,
            self.keyboard,
            X11Mouse(self),
            X11Tablet(self),
            self.clipboard,
        ]
        if self.sound is not None:
            self.interfaces.append(self.sound.playback)
        for interface in self.interfaces:
            self.server.add_interface(interface)
        if self.sound is not None:
            self.sound.start()
        self._capture_timer = core.timer_add(self._capture)
        self._pump_timer = core.timer_add(self._pump_more)
        self._housekeeping = core.timer_add(self._tidy)
        core.timer_start(self._housekeeping, HOUSEKEEPING_MS)
        self._watch = core.watch_add(
            self.conn.get_file_descriptor(), EventMask.READ, self._readable
        )
        self.conn.flush()
        self.pump_events()
        log.info("exporting X display %s (%dx%d)", self.display_name or "(default)", width, height)

    def stop(self) -> None:
        """Unregister and disconnect from X (also what happens when X goes away)."""
        core = self.core
        if core is not None:
            if self._watch is not None:
                core.watch_remove(self._watch)
                self._watch = None
            for timer in (self._capture_timer, self._pump_timer, self._housekeeping):
                if timer is not None:
                    core.timer_remove(timer)
            self._capture_timer = self._pump_timer = self._housekeeping = None
        if self.sound is not None:
            self.sound.stop()
        for interface in self.interfaces:
            with contextlib.suppress(InterfaceError):  # already gone: nothing to undo
                self.server.remove_interface(interface)
        self.interfaces = []
        if not self.lost:
            self.capture.close()
            self.clipboard.close()
            self.conn.disconnect()

    def connection_lost(self, reason: str) -> None:
        if self.lost:
            return
        self.lost = True
        log.error("X display %s is gone (%s)", self.display_name or "(default)", reason)
        self.stop()
        self.server.disconnect_clients(f"the X display {self.display_name or ''} went away")
        if self.on_lost is not None:
            self.on_lost(reason)

    # -- X setup ---------------------------------------------------------------------------

    def atom(self, name: str) -> int:
        atom = self._atoms.get(name)
        if atom is None:
            atom = self._atoms[name] = (
                self.conn.core.InternAtom(False, len(name), name).reply().atom
            )
        return atom

    def _check_extensions(self) -> None:
        missing = [
            name
            for name in REQUIRED_EXTENSIONS
            if not self.conn.core.QueryExtension(len(name), name).reply().present
        ]
        if missing:
            raise X11Error(f"the X server lacks {', '.join(missing)}")

    def _check_pixel_format(self, setup: Any, screen: Any) -> None:
        formats = {f.depth: f.bits_per_pixel for f in setup.pixmap_formats}
        if screen.root_depth not in (24, 32) or formats.get(screen.root_depth) != 32:
            raise X11Error(f"unsupported X screen depth {screen.root_depth}; 24 or 32 needed")
        if setup.image_byte_order != xp.ImageOrder.LSBFirst:
            raise X11Error("the X server's image byte order is not little-endian")

    def _check_keycodes(self, setup: Any) -> None:
        """Warn when the server's keycodes are not evdev + 8, which the key mapping assumes.

        Escape and Up carry the same keysyms in every layout, so they tell the keycode set
        apart without knowing the layout.
        """
        first = setup.min_keycode
        reply = self.conn.core.GetKeyboardMapping(first, setup.max_keycode - first + 1).reply()
        per = reply.keysyms_per_keycode
        keysyms = list(reply.keysyms)

        def keysym(keycode: int) -> int:
            index = (keycode - first) * per
            return keysyms[index] if 0 <= index < len(keysyms) else 0

        if keysym(x_keycode(0x01) or 0) != XK_ESCAPE or keysym(x_keycode(0x148) or 0) != XK_UP:
            log.warning("the X server's keycodes are not evdev's: keys may come out wrong")

    def _randr(self) -> Any:
        if not self.conn.core.QueryExtension(5, "RANDR").reply().present:
            log.warning("the X server has no RandR: clients cannot resize it")
            return None
        randr = self.conn(xcffib.randr.key)
        randr.QueryVersion(1, 5).reply()
        randr.SelectInput(self.root, xcffib.randr.NotifyMask.ScreenChange)
        return randr

    # -- events ----------------------------------------------------------------------------

    def _readable(self, fd: int, events: EventMask, opaque: Any) -> None:
        self._guarded(self.pump_events)

    def _guarded(self, func: Callable[[], None]) -> None:
        if self.lost:
            return
        try:
            func()
        except (xcffib.ConnectionException, OSError) as exc:
            self.connection_lost(str(exc) or type(exc).__name__)
        except xcffib.XcffibException as exc:
            # An X error answers one request; the connection and the desktop carry on.
            log.warning("X error while handling events: %s", type(exc).__name__)

    def pump_events(self) -> None:
        """Handle the events xcb has read, including those read while awaiting replies.

        At most MAX_EVENTS_PER_CALL at a time, so a desktop that never stops drawing cannot
        keep the loop from its clients. xcb may already hold the rest in its queue, where
        the socket's watch cannot see them, so a zero-delay timer comes back for them.
        """
        for _ in range(MAX_EVENTS_PER_CALL):
            event = self.conn.poll_for_event()
            if event is None:
                break
            self._handle(event)
        else:
            if self.core is not None and self._pump_timer is not None:
                self.core.timer_start(self._pump_timer, 0)
        self.conn.flush()

    def _pump_more(self, opaque: Any) -> None:
        self._guarded(self.pump_events)

    def _handle(self, event: Any) -> None:
        if self.damaged.is_notify(event):
            self._schedule_capture()
        elif isinstance(event, xcffib.xfixes.CursorNotifyEvent):
            self._update_cursor()
        elif isinstance(event, xcffib.randr.ScreenChangeNotifyEvent):
            self._screen_changed(event.width, event.height)
        else:
            self.clipboard.handle_event(event)

    def _schedule_capture(self) -> None:
        if self._capture_pending or self.core is None or self._capture_timer is None:
            return
        self._capture_pending = True
        delay = max(0.0, self._next_capture - self.clock())
        self.core.timer_start(self._capture_timer, int(delay * 1000))

    def _capture(self, opaque: Any) -> None:
        self._guarded(self._capture_damage)

    def _capture_damage(self) -> None:
        self._capture_pending = False
        self._next_capture = self.clock() + FRAME_MS / 1000
        for rect in self.damaged.take():
            self.display.update(self.capture.grab(rect), rect.left, rect.top)
        self.pump_events()

    def _update_cursor(self) -> None:
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

    def _screen_changed(self, width: int, height: int) -> None:
        if (width, height) == (self.display.width, self.display.height):
            return
        geometry = self.conn.core.GetGeometry(self.root).reply()
        width, height = geometry.width, geometry.height
        log.info("the X screen is now %dx%d", width, height)
        self.capture.close()
        self.capture = ShmCapture(self.conn, self.root, width, height)
        self.damaged.resize(width, height)
        self.display.resize(width, height, self.capture.grab(Rect(0, 0, width, height)))

    def _tidy(self, opaque: Any) -> None:
        self._guarded(self.clipboard.expire)
        if self.core is not None and self._housekeeping is not None:
            self.core.timer_start(self._housekeeping, HOUSEKEEPING_MS)

    # -- input -----------------------------------------------------------------------------

    def fake(self, kind: int, detail: int, root: int = 0, x: int = 0, y: int = 0) -> None:
        self.xtest.FakeInput(kind, detail, xp.Time.CurrentTime, root, x, y, 0)

    def set_buttons(self, state: int) -> None:
        changed = state ^ self._buttons
        for mask, button in BUTTONS.items():
            if changed & mask:
                kind = BUTTON_PRESS if state & mask else BUTTON_RELEASE
                self.fake(kind, button)
        self._buttons = state & sum(BUTTONS)

    def wheel(self, dz: int) -> None:
        button = 4 if dz < 0 else 5
        for _ in range(abs(dz)):
            self.fake(BUTTON_PRESS, button)
            self.fake(BUTTON_RELEASE, button)

    def read_leds(self) -> KeyboardModifier:
        if self.lost:
            return KeyboardModifier(0)
        try:
            mask = self.conn.core.GetKeyboardControl().reply().led_mask
        except (xcffib.ConnectionException, OSError) as exc:
            self.connection_lost(str(exc))
            return KeyboardModifier(0)
        leds = KeyboardModifier(0)
        for bit, flag in LEDS:
            if mask & bit:
                leds |= flag
        return leds

    # -- resize ----------------------------------------------------------------------------

    @x_call
    def resize_screen(self, width: int, height: int) -> bool:
        """Ask RandR for a width x height screen; False (logged) where the server refuses."""
        width &= ~7
        if self.randr is None or width < 64 or height < 64:
            return False
        if (width, height) == (self.display.width, self.display.height):
            return True
        try:
            randr_resize(self.conn, self.randr, self.root, width, height)
        except (xcffib.XcffibException, RandrError) as exc:
            log.warning("the X server cannot change to %dx%d: %s", width, height, exc)
            return False
        return True


class RandrError(Exception):
    pass


def randr_resize(conn: xcffib.Connection, randr: Any, root: int, width: int, height: int) -> None:
    """Switch the first connected output to a width x height mode, making it if needed."""
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
        mode = randr.CreateMode(root, mode_info, len(name), name).reply().mode
        randr.AddOutputModeChecked(output, mode).check()
    current = conn.core.GetGeometry(root).reply()
    mm_width, mm_height = int(width * 25.4 / 96), int(height * 25.4 / 96)
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
