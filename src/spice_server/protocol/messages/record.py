"""Record channel messages: the server asks for the client's microphone, the client sends it."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..constants import MsgcRecord, MsgRecord
from .audio import AudioData, AudioMode, AudioMute, AudioVolume
from .codec import FixedMessage

# -- server to client ---------------------------------------------------------------------


@dataclass(frozen=True)
class MsgRecordStart(FixedMessage):
    TYPE: ClassVar[int] = MsgRecord.START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IHI")
    channels: int
    format: int
    frequency: int


@dataclass(frozen=True)
class MsgRecordStop(FixedMessage):
    TYPE: ClassVar[int] = MsgRecord.STOP


class MsgRecordVolume(AudioVolume):
    TYPE: ClassVar[int] = MsgRecord.VOLUME


class MsgRecordMute(AudioMute):
    TYPE: ClassVar[int] = MsgRecord.MUTE


# -- client to server ---------------------------------------------------------------------


class MsgcRecordData(AudioData):
    """One captured frame: raw PCM or one Opus packet, in the mode last announced."""

    TYPE: ClassVar[int] = MsgcRecord.DATA


class MsgcRecordMode(AudioMode):
    TYPE: ClassVar[int] = MsgcRecord.MODE


@dataclass(frozen=True)
class MsgcRecordStartMark(FixedMessage):
    """The client's capture clock at its first frame."""

    TYPE: ClassVar[int] = MsgcRecord.START_MARK
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    time: int


CLIENT_MESSAGES: tuple[type, ...] = (MsgcRecordData, MsgcRecordMode, MsgcRecordStartMark)
