"""Main channel messages: session setup, channel list, mouse mode, agent transport."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..constants import MsgcMain, MsgMain
from ..errors import RemoteProtocolError
from .codec import FixedMessage, RawMessage, need

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True)
class MsgMainInit(FixedMessage):
    """The first message of a session: the client takes its session id from it."""

    TYPE: ClassVar[int] = MsgMain.INIT
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<8I")
    session_id: int
    display_channels_hint: int
    supported_mouse_modes: int
    current_mouse_mode: int
    agent_connected: int
    agent_tokens: int
    multi_media_time: int
    ram_hint: int


@dataclass(frozen=True)
class MsgMainChannelsList:
    """The channels the client should connect: (channel type, channel id) pairs."""

    TYPE: ClassVar[int] = MsgMain.CHANNELS_LIST
    channels: tuple[tuple[int, int], ...]

    def pack(self) -> bytes:
        return struct.pack("<I", len(self.channels)) + b"".join(
            struct.pack("<BB", t, i) for t, i in self.channels
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 4, cls.__name__)
        (count,) = struct.unpack_from("<I", body)
        need(body, 4 + 2 * count, cls.__name__)
        return cls(tuple(struct.unpack_from("<BB", body, 4 + 2 * i) for i in range(count)))


@dataclass(frozen=True)
class MsgMainMouseMode(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.MOUSE_MODE
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<HH")
    supported_modes: int
    current_mode: int


@dataclass(frozen=True)
class MsgMainMultiMediaTime(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.MULTI_MEDIA_TIME
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    time: int


@dataclass(frozen=True)
class MsgMainAgentConnected(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_CONNECTED


@dataclass(frozen=True)
class MsgMainAgentDisconnected(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_DISCONNECTED
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    error_code: int


class MsgMainAgentData(RawMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_DATA


@dataclass(frozen=True)
class MsgMainAgentToken(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_TOKEN
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


@dataclass(frozen=True)
class MsgMainName:
    """The name of the guest; the length on the wire counts the closing NUL."""

    TYPE: ClassVar[int] = MsgMain.NAME
    name: str

    def pack(self) -> bytes:
        text = self.name.encode() + b"\0"
        return struct.pack("<I", len(text)) + text

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 4, cls.__name__)
        (length,) = struct.unpack_from("<I", body)
        need(body, 4 + length, cls.__name__)
        return cls(body[4 : 4 + length].rstrip(b"\0").decode(errors="replace"))


@dataclass(frozen=True)
class MsgMainUuid:
    TYPE: ClassVar[int] = MsgMain.UUID
    uuid: bytes

    def pack(self) -> bytes:
        if len(self.uuid) != 16:
            raise ValueError("a uuid is 16 bytes")
        return self.uuid

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 16, cls.__name__)
        return cls(body[:16])


@dataclass(frozen=True)
class MsgMainAgentConnectedTokens(FixedMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_CONNECTED_TOKENS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


# -- client to server ---------------------------------------------------------------------


@dataclass(frozen=True)
class MsgcMainClientInfo(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.CLIENT_INFO
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<Q")
    cache_size: int


@dataclass(frozen=True)
class MsgcMainMigrateConnected(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECTED


@dataclass(frozen=True)
class MsgcMainMigrateConnectError(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECT_ERROR


@dataclass(frozen=True)
class MsgcMainAttachChannels(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.ATTACH_CHANNELS


@dataclass(frozen=True)
class MsgcMainMouseModeRequest(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MOUSE_MODE_REQUEST
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<H")
    mode: int


@dataclass(frozen=True)
class MsgcMainAgentStart(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.AGENT_START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


class MsgcMainAgentData(RawMessage):
    """A slice of the client's VDAgentMessage stream; at most 2048 bytes each."""

    TYPE: ClassVar[int] = MsgcMain.AGENT_DATA
    MAX_SIZE: ClassVar[int] = 2048

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        if len(body) > cls.MAX_SIZE:
            raise RemoteProtocolError(f"agent data of {len(body)} bytes exceeds {cls.MAX_SIZE}")
        return cls(body)


@dataclass(frozen=True)
class MsgcMainAgentToken(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.AGENT_TOKEN
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


@dataclass(frozen=True)
class MsgcMainMigrateEnd(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_END


@dataclass(frozen=True)
class MsgcMainMigrateDstDoSeamless(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_DST_DO_SEAMLESS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    src_version: int


@dataclass(frozen=True)
class MsgcMainMigrateConnectedSeamless(FixedMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECTED_SEAMLESS


class MsgcMainQualityIndicator(RawMessage):
    TYPE: ClassVar[int] = MsgcMain.QUALITY_INDICATOR


CLIENT_MESSAGES: tuple[type, ...] = (
    MsgcMainClientInfo,
    MsgcMainMigrateConnected,
    MsgcMainMigrateConnectError,
    MsgcMainAttachChannels,
    MsgcMainMouseModeRequest,
    MsgcMainAgentStart,
    MsgcMainAgentData,
    MsgcMainAgentToken,
    MsgcMainMigrateEnd,
    MsgcMainMigrateDstDoSeamless,
    MsgcMainMigrateConnectedSeamless,
    MsgcMainQualityIndicator,
)
