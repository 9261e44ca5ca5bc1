"""Cursor channel messages: the pointer's shape, position and visibility."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..constants import CursorFlags, CursorType, MsgCursor
from .codec import ClientMessage, FixedMessage, ServerMessage, need

CURSOR_HEADER = struct.Struct("<QBHHHH")  # unique, type, width, height, hot_spot_x, hot_spot_y


@dataclass(frozen=True, slots=True)
class CursorShape:
    """A SpiceCursor. ``data`` is width*height*4 bytes of ARGB32 (B,G,R,A in memory) for ALPHA.

    ``shape=None`` means no cursor at all (the NONE flag).
    """

    unique: int = 0
    type: int = CursorType.ALPHA
    width: int = 0
    height: int = 0
    hot_spot_x: int = 0
    hot_spot_y: int = 0
    data: bytes = b""
    flags: int = 0

    def pack(self) -> bytes:
        if self.flags & CursorFlags.NONE:
            return struct.pack("<H", self.flags)
        header = CURSOR_HEADER.pack(
            self.unique, self.type, self.width, self.height, self.hot_spot_x, self.hot_spot_y
        )
        return struct.pack("<H", self.flags) + header + self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 2, cls.__name__)
        (flags,) = struct.unpack_from("<H", body)
        if flags & CursorFlags.NONE:
            return cls(flags=flags)
        need(body, 2 + CURSOR_HEADER.size, cls.__name__)
        unique, kind, width, height, hot_x, hot_y = CURSOR_HEADER.unpack_from(body, 2)
        data = body[2 + CURSOR_HEADER.size :]
        return cls(unique, kind, width, height, hot_x, hot_y, data, flags)


NO_CURSOR = CursorShape(flags=CursorFlags.NONE)


@dataclass(frozen=True, slots=True)
class MsgCursorInit(ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.INIT
    FIXED: ClassVar[struct.Struct] = struct.Struct("<hhHHB")
    x: int
    y: int
    trail_length: int
    trail_frequency: int
    visible: int
    cursor: CursorShape

    def encode(self) -> bytes:
        fixed = self.FIXED.pack(
            self.x, self.y, self.trail_length, self.trail_frequency, self.visible
        )
        return fixed + self.cursor.pack()

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FIXED.size, cls.__name__)
        x, y, trail_length, trail_frequency, visible = cls.FIXED.unpack_from(body)
        cursor = CursorShape.unpack(body[cls.FIXED.size :])
        return cls(x, y, trail_length, trail_frequency, visible, cursor)


@dataclass(frozen=True, slots=True)
class MsgCursorReset(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.RESET


@dataclass(frozen=True, slots=True)
class MsgCursorSet(ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.SET
    FIXED: ClassVar[struct.Struct] = struct.Struct("<hhB")
    x: int
    y: int
    visible: int
    cursor: CursorShape

    def encode(self) -> bytes:
        return self.FIXED.pack(self.x, self.y, self.visible) + self.cursor.pack()

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FIXED.size, cls.__name__)
        x, y, visible = cls.FIXED.unpack_from(body)
        return cls(x, y, visible, CursorShape.unpack(body[cls.FIXED.size :]))


@dataclass(frozen=True, slots=True)
class MsgCursorMove(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.MOVE
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<hh")
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class MsgCursorHide(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.HIDE


@dataclass(frozen=True, slots=True)
class MsgCursorTrail(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.TRAIL
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<HH")
    length: int
    frequency: int


@dataclass(frozen=True, slots=True)
class MsgCursorInvalAll(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgCursor.INVAL_ALL


# The cursor channel has no client messages beyond the common ones.
CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = ()
