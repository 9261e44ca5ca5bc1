"""The clients' keyboard and pointer, injected into X through XTEST.

Scancodes become the X server's keycodes (see ``keymap``), so its own layout applies as
for a local keyboard; relative motion, absolute positions (client mouse mode), buttons
and wheel become the core events X would get from real devices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import xcffib
import xcffib.xproto as xp
import xcffib.xtest

from ...interfaces.display import Display
from ...interfaces.keyboard import KeyboardInterface
from ...interfaces.mouse import MouseInterface
from ...interfaces.tablet import TabletInterface
from ...protocol.constants import ButtonMask, KeyboardModifier
from ..scancodes import CAPS_LOCK, NUM_LOCK, SCROLL_LOCK, ScancodeDecoder
from .connection import XConnection, x_call
from .keymap import x_keycode

log = logging.getLogger(__name__)

BUTTONS = {
    ButtonMask.LEFT: 1,
    ButtonMask.MIDDLE: 2,
    ButtonMask.RIGHT: 3,
    ButtonMask.SIDE: 8,
    ButtonMask.EXTRA: 9,
}
WHEEL_UP, WHEEL_DOWN = 4, 5
# Core keyboard LEDs as XKB's default indicator map numbers them.
LEDS = (
    (1, KeyboardModifier.CAPS_LOCK),
    (2, KeyboardModifier.NUM_LOCK),
    (4, KeyboardModifier.SCROLL_LOCK),
)
LOCK_KEYS = {CAPS_LOCK, NUM_LOCK, SCROLL_LOCK}

# XTEST FakeInput event types (the core protocol's event codes).
KEY_PRESS, KEY_RELEASE, BUTTON_PRESS, BUTTON_RELEASE, MOTION_NOTIFY = 2, 3, 4, 5, 6


class XTest:
    """Fake input events, and the button state they leave X in."""

    def __init__(self, x: XConnection, on_input: Callable[[], None] | None = None) -> None:
        """``on_input`` is told of every event injected (the capture hurries then)."""
        self.x = x
        self.xtest = x.conn(xcffib.xtest.key)
        self._buttons = 0
        self._on_input = on_input

    def fake(self, kind: int, detail: int, root: int = 0, x: int = 0, y: int = 0) -> None:
        self.xtest.FakeInput(kind, detail, xp.Time.CurrentTime, root, x, y, 0)
        if self._on_input is not None:
            self._on_input()

    def move_by(self, dx: int, dy: int) -> tuple[int, int]:
        """Move the pointer; where it is now (X clamps it to the screen)."""
        self.fake(MOTION_NOTIFY, 1, 0, dx, dy)  # detail 1: relative
        pointer = self.x.conn.core.QueryPointer(self.x.root).reply()
        return pointer.root_x, pointer.root_y

    def move_to(self, x: int, y: int) -> None:
        self.fake(MOTION_NOTIFY, 0, self.x.root, x, y)

    def set_buttons(self, state: int) -> None:
        changed = state ^ self._buttons
        for mask, button in BUTTONS.items():
            if changed & mask:
                self.fake(BUTTON_PRESS if state & mask else BUTTON_RELEASE, button)
        self._buttons = state & sum(BUTTONS)

    def wheel(self, dz: int) -> None:
        button = WHEEL_UP if dz < 0 else WHEEL_DOWN
        for _ in range(abs(dz)):
            self.fake(BUTTON_PRESS, button)
            self.fake(BUTTON_RELEASE, button)

    def read_leds(self) -> KeyboardModifier:
        mask = self.x.conn.core.GetKeyboardControl().reply().led_mask
        leds = KeyboardModifier(0)
        for bit, flag in LEDS:
            if mask & bit:
                leds |= flag
        return leds


class X11Keyboard(KeyboardInterface):
    description = "X11 keyboard (XTEST)"

    def __init__(self, xtest: XTest) -> None:
        self.x = xtest.x
        self.xtest = xtest
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
        self.xtest.fake(KEY_PRESS if event.pressed else KEY_RELEASE, keycode)
        if not event.pressed and event.code in LOCK_KEYS:
            self.set_leds(self.xtest.read_leds())

    def get_leds(self) -> KeyboardModifier:
        leds = self._read_leds() or KeyboardModifier(0)  # none when X has gone
        self._leds = leds
        return leds

    @x_call
    def _read_leds(self) -> KeyboardModifier:
        return self.xtest.read_leds()


class X11Mouse(MouseInterface):
    description = "X11 relative pointer (XTEST)"

    def __init__(self, xtest: XTest, display: Display) -> None:
        self.x = xtest.x
        self.xtest = xtest
        self.display = display

    @x_call
    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        if dx or dy:
            self.display.move_cursor(*self.xtest.move_by(dx, dy))
        self.xtest.set_buttons(buttons_state)
        self.xtest.wheel(dz)

    @x_call
    def buttons(self, buttons_state: int) -> None:
        self.xtest.set_buttons(buttons_state)


class X11Tablet(TabletInterface):
    description = "X11 absolute pointer (XTEST)"

    def __init__(self, xtest: XTest) -> None:
        self.x = xtest.x
        self.xtest = xtest

    @x_call
    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        self.xtest.move_to(x, y)
        self.xtest.set_buttons(buttons_state)

    @x_call
    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        self.xtest.wheel(wheel_motion)

    @x_call
    def buttons(self, buttons_state: int) -> None:
        self.xtest.set_buttons(buttons_state)
