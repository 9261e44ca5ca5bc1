"""Record channel messages: the server asks for the client's microphone, the client sends it."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..constants import MsgcRecord, MsgRecord
from .audio import AudioData, AudioMode, AudioMute, AudioVolume
from .codec import ClientMessage, FixedMessage, ServerMessage

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgRecordStart(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgRecord.START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IHI")
    channels: int
    format: int
    frequency: int


@dataclass(frozen=True, slots=True)
class MsgRecordStop(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgRecord.STOP


@dataclass(frozen=True, slots=True)
class MsgRecordVolume(AudioVolume, ServerMessage):
    TYPE: ClassVar[int] = MsgRecord.VOLUME


@dataclass(frozen=True, slots=True)
class MsgRecordMute(AudioMute, ServerMessage):
    TYPE: ClassVar[int] = MsgRecord.MUTE


# -- client to server ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgcRecordData(AudioData, ClientMessage):
    """One captured frame: raw PCM or one Opus packet, in the mode last announced."""

    TYPE: ClassVar[int] = MsgcRecord.DATA


@dataclass(frozen=True, slots=True)
class MsgcRecordMode(AudioMode, ClientMessage):
    TYPE: ClassVar[int] = MsgcRecord.MODE


@dataclass(frozen=True, slots=True)
class MsgcRecordStartMark(FixedMessage, ClientMessage):
    """The client's capture clock at its first frame."""

    TYPE: ClassVar[int] = MsgcRecord.START_MARK
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    time: int


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
    MsgcRecordData,
    MsgcRecordMode,
    MsgcRecordStartMark,
)
