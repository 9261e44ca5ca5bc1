"""PC/XT scan code set 1, as SPICE carries keys: decoding bytes into key events and text.

Back ends that want characters rather than key positions (the demo) use this; back ends
that inject keys into another system (X11) map the codes instead. Extended keys are
named by ``0x100 | code``, the convention spice-gtk also uses for E0-prefixed keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.constants import KeyboardModifier

EXTENDED = 0x100

LEFT_SHIFT, RIGHT_SHIFT = 0x2A, 0x36
LEFT_CTRL, RIGHT_CTRL = 0x1D, EXTENDED | 0x1D
LEFT_ALT, RIGHT_ALT = 0x38, EXTENDED | 0x38
CAPS_LOCK, NUM_LOCK, SCROLL_LOCK = 0x3A, 0x45, 0x46
ENTER, KP_ENTER, BACKSPACE, TAB, ESCAPE = 0x1C, EXTENDED | 0x1C, 0x0E, 0x0F, 0x01
UP, DOWN, LEFT, RIGHT = EXTENDED | 0x48, EXTENDED | 0x50, EXTENDED | 0x4B, EXTENDED | 0x4D

# Unshifted and shifted characters of the US layout, by scancode.
US_LAYOUT: dict[int, tuple[str, str]] = {
    0x02: ("1", "!"),
    0x03: ("2", "@"),
    0x04: ("3", "#"),
    0x05: ("4", "$"),
    0x06: ("5", "%"),
    0x07: ("6", "^"),
    0x08: ("7", "&"),
    0x09: ("8", "*"),
    0x0A: ("9", "("),
    0x0B: ("0", ")"),
    0x0C: ("-", "_"),
    0x0D: ("=", "+"),
    0x1A: ("[", "{"),
    0x1B: ("]", "}"),
    0x27: (";", ":"),
    0x28: ("'", '"'),
    0x29: ("`", "~"),
    0x2B: ("\\", "|"),
    0x33: (",", "<"),
    0x34: (".", ">"),
    0x35: ("/", "?"),
    0x39: (" ", " "),
    **{code: (ch, ch.upper()) for code, ch in zip(range(0x10, 0x1A), "qwertyuiop", strict=True)},
    **{code: (ch, ch.upper()) for code, ch in zip(range(0x1E, 0x27), "asdfghjkl", strict=True)},
    **{code: (ch, ch.upper()) for code, ch in zip(range(0x2C, 0x33), "zxcvbnm", strict=True)},
}
KEYPAD_DIGITS = {
    0x47: "7",
    0x48: "8",
    0x49: "9",
    0x4B: "4",
    0x4C: "5",
    0x4D: "6",
    0x4F: "1",
    0x50: "2",
    0x51: "3",
    0x52: "0",
    0x53: ".",
}
KEYPAD_OPERATORS = {0x37: "*", 0x4A: "-", 0x4E: "+", EXTENDED | 0x35: "/"}

KEY_NAMES: dict[int, str] = {
    ESCAPE: "Esc",
    BACKSPACE: "Backspace",
    TAB: "Tab",
    ENTER: "Enter",
    KP_ENTER: "KP Enter",
    LEFT_CTRL: "Left Ctrl",
    RIGHT_CTRL: "Right Ctrl",
    LEFT_SHIFT: "Left Shift",
    RIGHT_SHIFT: "Right Shift",
    LEFT_ALT: "Left Alt",
    RIGHT_ALT: "AltGr",
    CAPS_LOCK: "Caps Lock",
    NUM_LOCK: "Num Lock",
    SCROLL_LOCK: "Scroll Lock",
    UP: "Up",
    DOWN: "Down",
    LEFT: "Left",
    RIGHT: "Right",
    EXTENDED | 0x47: "Home",
    EXTENDED | 0x4F: "End",
    EXTENDED | 0x49: "Page Up",
    EXTENDED | 0x51: "Page Down",
    EXTENDED | 0x52: "Insert",
    EXTENDED | 0x53: "Delete",
    EXTENDED | 0x5B: "Left Super",
    EXTENDED | 0x5C: "Right Super",
    EXTENDED | 0x5D: "Menu",
    0x39: "Space",
    **{0x3B + i: f"F{i + 1}" for i in range(10)},
    0x57: "F11",
    0x58: "F12",
}


def key_name(code: int) -> str:
    if code in KEY_NAMES:
        return KEY_NAMES[code]
    if code in US_LAYOUT:
        return US_LAYOUT[code][1] if US_LAYOUT[code][0].isalpha() else US_LAYOUT[code][0]
    return f"{'E0 ' if code & EXTENDED else ''}{code & 0xFF:02X}"


@dataclass(frozen=True)
class KeyEvent:
    code: int  # 0x100 | code for E0-prefixed keys
    pressed: bool


class ScancodeDecoder:
    """Feed bytes one at a time; a complete key press or release comes out as a KeyEvent."""

    def __init__(self) -> None:
        self._extended = False
        self._skip = 0

    def feed(self, byte: int) -> KeyEvent | None:
        if self._skip:
            self._skip -= 1  # the rest of a Pause sequence (E1 1D 45 / E1 9D C5)
            return None
        if byte == 0xE0:
            self._extended = True
            return None
        if byte == 0xE1:
            self._skip = 2
            return None
        code = (byte & 0x7F) | (EXTENDED if self._extended else 0)
        self._extended = False
        return KeyEvent(code, pressed=not byte & 0x80)


class KeyboardState:
    """Which modifiers are held and which locks are on; turns key events into text."""

    def __init__(self) -> None:
        self.held: set[int] = set()
        self.locks = KeyboardModifier(0)

    @property
    def shift(self) -> bool:
        return bool(self.held & {LEFT_SHIFT, RIGHT_SHIFT})

    @property
    def ctrl(self) -> bool:
        return bool(self.held & {LEFT_CTRL, RIGHT_CTRL})

    def apply(self, event: KeyEvent) -> bool:
        """Update held keys and locks; True when a lock LED changed."""
        if not event.pressed:
            self.held.discard(event.code)
            return False
        repeat = event.code in self.held
        self.held.add(event.code)
        toggles = {
            CAPS_LOCK: KeyboardModifier.CAPS_LOCK,
            NUM_LOCK: KeyboardModifier.NUM_LOCK,
            SCROLL_LOCK: KeyboardModifier.SCROLL_LOCK,
        }
        if event.code in toggles and not repeat:
            self.locks ^= toggles[event.code]
            return True
        return False

    def text(self, event: KeyEvent) -> str | None:
        """The character a press types, or None (releases, modifiers, Ctrl combinations)."""
        if not event.pressed or self.ctrl:
            return None
        code = event.code
        if code in US_LAYOUT:
            plain, shifted = US_LAYOUT[code]
            upper = self.shift
            if plain.isalpha() and self.locks & KeyboardModifier.CAPS_LOCK:
                upper = not upper
            return shifted if upper else plain
        if code in KEYPAD_DIGITS and self.locks & KeyboardModifier.NUM_LOCK:
            return KEYPAD_DIGITS[code]
        if code in KEYPAD_OPERATORS:
            return KEYPAD_OPERATORS[code]
        if code in (ENTER, KP_ENTER):
            return "\n"
        if code == TAB:
            return "    "
        return None
