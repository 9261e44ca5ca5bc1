"""From SPICE's PC/XT scancodes to the X server's keycodes.

Scan code set 1 names key positions; Linux evdev codes name the same positions, and an X
server with the evdev keycode set (Xorg, Xvfb, Xwayland) numbers its keys evdev + 8. The
X server's own layout then turns positions into symbols, so any layout works as it does
for a local keyboard. Codes without the E0 prefix equal their evdev codes up to 0x58;
the E0 ones are listed.
"""

from __future__ import annotations

from ..scancodes import EXTENDED

X_KEYCODE_OFFSET = 8

EXTENDED_TO_EVDEV = {
    0x1C: 96,  # keypad Enter
    0x1D: 97,  # right Ctrl
    0x35: 98,  # keypad /
    0x37: 99,  # Print Screen / SysRq
    0x38: 100,  # right Alt (AltGr)
    0x47: 102,  # Home
    0x48: 103,  # Up
    0x49: 104,  # Page Up
    0x4B: 105,  # Left
    0x4D: 106,  # Right
    0x4F: 107,  # End
    0x50: 108,  # Down
    0x51: 109,  # Page Down
    0x52: 110,  # Insert
    0x53: 111,  # Delete
    0x5B: 125,  # left Super
    0x5C: 126,  # right Super
    0x5D: 127,  # Menu
    0x5E: 116,  # Power
    0x5F: 142,  # Sleep
    0x20: 113,  # Mute
    0x2E: 114,  # Volume Down
    0x30: 115,  # Volume Up
}
PLAIN_TO_EVDEV = {
    0x54: 99,  # SysRq (Alt+Print)
    0x56: 86,  # the key left of Z on ISO keyboards
    0x57: 87,  # F11
    0x58: 88,  # F12
    0x70: 93,  # Katakana/Hiragana
    0x73: 89,  # Ro
    0x79: 92,  # Henkan
    0x7B: 94,  # Muhenkan
    0x7D: 124,  # Yen
}


def evdev_code(code: int) -> int | None:
    """The evdev code of a scancode (``0x100 | code`` for E0 keys), or None if unknown."""
    if code & EXTENDED:
        return EXTENDED_TO_EVDEV.get(code & 0xFF)
    if 0 < code <= 0x53:
        return code
    return PLAIN_TO_EVDEV.get(code)


def x_keycode(code: int) -> int | None:
    evdev = evdev_code(code)
    return None if evdev is None else evdev + X_KEYCODE_OFFSET
