"""Inputs channel messages: keys as PC/XT scancodes, mouse motion, positions and buttons."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..constants import MsgcInputs, MsgInputs
from .codec import ClientMessage, FixedMessage, RawMessage, ServerMessage

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgInputsInit(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgInputs.INIT
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<H")
    keyboard_modifiers: int


@dataclass(frozen=True, slots=True)
class MsgInputsKeyModifiers(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgInputs.KEY_MODIFIERS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<H")
    modifiers: int


@dataclass(frozen=True, slots=True)
class MsgInputsMouseMotionAck(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgInputs.MOUSE_MOTION_ACK


# -- client to server ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgcInputsKeyDown(FixedMessage, ClientMessage):
    """Up to four scancode bytes packed little-endian, first byte lowest, zero-terminated."""

    TYPE: ClassVar[int] = MsgcInputs.KEY_DOWN
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    code: int


@dataclass(frozen=True, slots=True)
class MsgcInputsKeyUp(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcInputs.KEY_UP
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    code: int


@dataclass(frozen=True, slots=True)
class MsgcInputsKeyModifiers(FixedMessage, ClientMessage):
    """The client's lock-key state."""

    TYPE: ClassVar[int] = MsgcInputs.KEY_MODIFIERS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<H")
    modifiers: int


@dataclass(frozen=True, slots=True)
class MsgcInputsKeyScancode(RawMessage, ClientMessage):
    """A raw sequence of scancode bytes (presses and releases)."""

    TYPE: ClassVar[int] = MsgcInputs.KEY_SCANCODE


@dataclass(frozen=True, slots=True)
class MsgcInputsMouseMotion(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcInputs.MOUSE_MOTION
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<iiH")
    dx: int
    dy: int
    buttons_state: int


@dataclass(frozen=True, slots=True)
class MsgcInputsMousePosition(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcInputs.MOUSE_POSITION
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IIHB")
    x: int
    y: int
    buttons_state: int
    display_id: int


@dataclass(frozen=True, slots=True)
class MsgcInputsMousePress(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcInputs.MOUSE_PRESS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<BH")
    button: int
    buttons_state: int


@dataclass(frozen=True, slots=True)
class MsgcInputsMouseRelease(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcInputs.MOUSE_RELEASE
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<BH")
    button: int
    buttons_state: int


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
    MsgcInputsKeyDown,
    MsgcInputsKeyUp,
    MsgcInputsKeyModifiers,
    MsgcInputsKeyScancode,
    MsgcInputsMouseMotion,
    MsgcInputsMousePosition,
    MsgcInputsMousePress,
    MsgcInputsMouseRelease,
)
