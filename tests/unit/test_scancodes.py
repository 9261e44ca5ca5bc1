"""Scancode decoding and text for the demo: shift, caps lock, extended keys."""

from __future__ import annotations

from spice_server import KeyboardModifier
from spice_server.backends.scancodes import (
    KeyboardState,
    KeyEvent,
    ScancodeDecoder,
    key_name,
)


def decode(data: bytes) -> list[KeyEvent]:
    decoder = ScancodeDecoder()
    return [e for e in map(decoder.feed, data) if e is not None]


def typed(data: bytes, state: KeyboardState | None = None) -> str:
    state = state or KeyboardState()
    out = ""
    for event in decode(data):
        state.apply(event)
        out += state.text(event) or ""
    return out


def test_plain_and_extended_keys() -> None:
    assert decode(bytes([0x1E, 0x9E, 0xE0, 0x1D, 0xE0, 0x9D])) == [
        KeyEvent(0x1E, True),
        KeyEvent(0x1E, False),
        KeyEvent(0x11D, True),
        KeyEvent(0x11D, False),
    ]
    assert key_name(0x11D) == "Right Ctrl" and key_name(0x11C) == "KP Enter"
    assert key_name(0x148) == "Up" and key_name(0x1E) == "A"


def test_pause_sequence_is_swallowed() -> None:
    assert decode(bytes([0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5, 0x1E])) == [KeyEvent(0x1E, True)]


def test_shift_and_caps_lock() -> None:
    # h, shift+i, 1, shift+1
    assert (
        typed(bytes([0x23, 0xA3, 0x2A, 0x17, 0x97, 0xAA, 0x02, 0x82, 0x36, 0x02, 0x82, 0xB6]))
        == "hI1!"
    )
    state = KeyboardState()
    assert (
        typed(bytes([0x3A, 0xBA, 0x1E, 0x9E, 0x2A, 0x1E, 0x9E, 0xAA, 0x02, 0x82]), state) == "Aa1"
    )
    assert state.locks == KeyboardModifier.CAPS_LOCK


def test_lock_toggles_once_per_press_not_per_repeat() -> None:
    state = KeyboardState()
    for event in decode(bytes([0x45, 0x45, 0x45, 0xC5])):  # held: auto-repeat makes
        state.apply(event)
    assert state.locks == KeyboardModifier.NUM_LOCK


def test_keypad_and_enter() -> None:
    state = KeyboardState()
    assert typed(bytes([0x4F, 0xCF]), state) == ""  # keypad 1 without num lock
    assert typed(bytes([0x45, 0xC5, 0x4F, 0xCF, 0xE0, 0x1C, 0xE0, 0x9C]), state) == "1\n"


def test_ctrl_combinations_type_nothing() -> None:
    assert typed(bytes([0x1D, 0x2E, 0xAE, 0x9D])) == ""
