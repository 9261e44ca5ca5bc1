"""Messages common to every channel (types 1-100)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..constants import MsgBase, MsgcBase
from .codec import ClientMessage, FixedMessage, RawMessage, ServerMessage, need

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgSetAck(FixedMessage, ServerMessage):
    """Asks the client to ACK every ``window`` messages from now on."""

    TYPE: ClassVar[int] = MsgBase.SET_ACK
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<II")
    generation: int
    window: int


@dataclass(frozen=True, slots=True)
class MsgPing(FixedMessage, ServerMessage):
    """A ping; the client echoes id and timestamp (not the padding) in a PONG."""

    TYPE: ClassVar[int] = MsgBase.PING
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IQ")
    id: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class MsgDisconnecting(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgBase.DISCONNECTING
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<QI")
    time_stamp: int
    reason: int


@dataclass(frozen=True, slots=True)
class MsgNotify(ServerMessage):
    """A text notification the client may show to its user."""

    TYPE: ClassVar[int] = MsgBase.NOTIFY
    FIXED: ClassVar[struct.Struct] = struct.Struct("<QIIII")
    time_stamp: int
    severity: int
    visibility: int
    what: int
    message: str

    def encode(self) -> bytes:
        text = self.message.encode()
        fixed = self.FIXED.pack(
            self.time_stamp, self.severity, self.visibility, self.what, len(text)
        )
        return fixed + text + b"\0"

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FIXED.size, cls.__name__)
        stamp, severity, visibility, what, length = cls.FIXED.unpack_from(body)
        need(body, cls.FIXED.size + length, cls.__name__)
        text = body[cls.FIXED.size : cls.FIXED.size + length]
        return cls(stamp, severity, visibility, what, text.decode(errors="replace"))


# -- client to server ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgcAckSync(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.ACK_SYNC
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    generation: int


@dataclass(frozen=True, slots=True)
class MsgcAck(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.ACK


@dataclass(frozen=True, slots=True)
class MsgcPong(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.PONG
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IQ")
    id: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class MsgcMigrateFlushMark(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.MIGRATE_FLUSH_MARK


@dataclass(frozen=True, slots=True)
class MsgcMigrateData(RawMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.MIGRATE_DATA


@dataclass(frozen=True, slots=True)
class MsgcDisconnecting(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcBase.DISCONNECTING
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<QI")
    time_stamp: int
    reason: int


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
    MsgcAckSync,
    MsgcAck,
    MsgcPong,
    MsgcMigrateFlushMark,
    MsgcMigrateData,
    MsgcDisconnecting,
)
