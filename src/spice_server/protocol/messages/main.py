"""Main channel messages: session setup, channel list, mouse mode, agent transport."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..constants import MsgcMain, MsgMain
from ..errors import RemoteProtocolError
from .codec import ClientMessage, FixedMessage, RawMessage, ServerMessage, need

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgMainInit(FixedMessage, ServerMessage):
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


@dataclass(frozen=True, slots=True)
class MsgMainChannelsList(ServerMessage):
    """The channels the client should connect: (channel type, channel id) pairs."""

    TYPE: ClassVar[int] = MsgMain.CHANNELS_LIST
    channels: tuple[tuple[int, int], ...]

    def encode(self) -> bytes:
        return struct.pack("<I", len(self.channels)) + b"".join(
            struct.pack("<BB", t, i) for t, i in self.channels
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 4, cls.__name__)
        (count,) = struct.unpack_from("<I", body)
        need(body, 4 + 2 * count, cls.__name__)
        return cls(tuple(struct.unpack_from("<BB", body, 4 + 2 * i) for i in range(count)))


@dataclass(frozen=True, slots=True)
class MsgMainMouseMode(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.MOUSE_MODE
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<HH")
    supported_modes: int
    current_mode: int


@dataclass(frozen=True, slots=True)
class MsgMainMultiMediaTime(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.MULTI_MEDIA_TIME
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    time: int


@dataclass(frozen=True, slots=True)
class MsgMainAgentConnected(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_CONNECTED


@dataclass(frozen=True, slots=True)
class MsgMainAgentDisconnected(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_DISCONNECTED
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    error_code: int


@dataclass(frozen=True, slots=True)
class MsgMainAgentData(RawMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_DATA


@dataclass(frozen=True, slots=True)
class MsgMainAgentToken(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_TOKEN
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


@dataclass(frozen=True, slots=True)
class MsgMainName(ServerMessage):
    """The name of the guest; the length on the wire counts the closing NUL."""

    TYPE: ClassVar[int] = MsgMain.NAME
    name: str

    def encode(self) -> bytes:
        text = self.name.encode() + b"\0"
        return struct.pack("<I", len(text)) + text

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 4, cls.__name__)
        (length,) = struct.unpack_from("<I", body)
        need(body, 4 + length, cls.__name__)
        return cls(body[4 : 4 + length].rstrip(b"\0").decode(errors="replace"))


@dataclass(frozen=True, slots=True)
class MsgMainUuid(ServerMessage):
    TYPE: ClassVar[int] = MsgMain.UUID
    uuid: bytes

    def encode(self) -> bytes:
        if len(self.uuid) != 16:
            raise ValueError("a uuid is 16 bytes")
        return self.uuid

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 16, cls.__name__)
        return cls(body[:16])


@dataclass(frozen=True, slots=True)
class MsgMainAgentConnectedTokens(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgMain.AGENT_CONNECTED_TOKENS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


# -- client to server ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgcMainClientInfo(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.CLIENT_INFO
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<Q")
    cache_size: int


@dataclass(frozen=True, slots=True)
class MsgcMainMigrateConnected(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECTED


@dataclass(frozen=True, slots=True)
class MsgcMainMigrateConnectError(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECT_ERROR


@dataclass(frozen=True, slots=True)
class MsgcMainAttachChannels(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.ATTACH_CHANNELS


@dataclass(frozen=True, slots=True)
class MsgcMainMouseModeRequest(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MOUSE_MODE_REQUEST
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<H")
    mode: int


@dataclass(frozen=True, slots=True)
class MsgcMainAgentStart(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.AGENT_START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


@dataclass(frozen=True, slots=True)
class MsgcMainAgentData(RawMessage, ClientMessage):
    """A slice of the client's VDAgentMessage stream; at most 2048 bytes each."""

    TYPE: ClassVar[int] = MsgcMain.AGENT_DATA
    MAX_SIZE: ClassVar[int] = 2048

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        if len(body) > cls.MAX_SIZE:
            raise RemoteProtocolError(f"agent data of {len(body)} bytes exceeds {cls.MAX_SIZE}")
        return cls(body)


@dataclass(frozen=True, slots=True)
class MsgcMainAgentToken(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.AGENT_TOKEN
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    num_tokens: int


@dataclass(frozen=True, slots=True)
class MsgcMainMigrateEnd(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_END


@dataclass(frozen=True, slots=True)
class MsgcMainMigrateDstDoSeamless(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_DST_DO_SEAMLESS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    src_version: int


@dataclass(frozen=True, slots=True)
class MsgcMainMigrateConnectedSeamless(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.MIGRATE_CONNECTED_SEAMLESS


@dataclass(frozen=True, slots=True)
class MsgcMainQualityIndicator(RawMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcMain.QUALITY_INDICATOR


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
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
