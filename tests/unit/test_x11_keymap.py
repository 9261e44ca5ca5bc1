"""Scancodes to X keycodes (evdev + 8), the positions an X server's layout then names."""

from __future__ import annotations

import pytest

from spice_server.backends.x11.keymap import evdev_code, x_keycode


@pytest.mark.parametrize(
    ("scancode", "keycode"),
    [
        (0x01, 9),  # Escape
        (0x1E, 38),  # A
        (0x2A, 50),  # left Shift
        (0x3A, 66),  # Caps Lock
        (0x53, 91),  # keypad .
        (0x56, 94),  # ISO key left of Z
        (0x57, 95),  # F11
        (0x11C, 104),  # keypad Enter
        (0x11D, 105),  # right Ctrl
        (0x138, 108),  # right Alt
        (0x148, 111),  # Up
        (0x150, 116),  # Down
        (0x153, 119),  # Delete
        (0x15B, 133),  # left Super
    ],
)
def test_known_keys(scancode: int, keycode: int) -> None:
    assert x_keycode(scancode) == keycode


def test_unknown_keys_map_to_nothing() -> None:
    assert evdev_code(0x7F) is None
    assert evdev_code(0x1FF) is None
    assert x_keycode(0) is None
