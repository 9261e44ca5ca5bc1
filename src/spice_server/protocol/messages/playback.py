"""Playback channel messages: the server's audio, as raw PCM or Opus frames on the mm clock.

The client sends nothing but the common messages on this channel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..constants import MsgPlayback
from .audio import AudioData, AudioMode, AudioMute, AudioVolume
from .codec import FixedMessage


class MsgPlaybackData(AudioData):
    """One frame to play when the client's clock reaches ``time``."""

    TYPE: ClassVar[int] = MsgPlayback.DATA


class MsgPlaybackMode(AudioMode):
    TYPE: ClassVar[int] = MsgPlayback.MODE


@dataclass(frozen=True)
class MsgPlaybackStart(FixedMessage):
    TYPE: ClassVar[int] = MsgPlayback.START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IHII")
    channels: int
    format: int
    frequency: int
    time: int


@dataclass(frozen=True)
class MsgPlaybackStop(FixedMessage):
    TYPE: ClassVar[int] = MsgPlayback.STOP


class MsgPlaybackVolume(AudioVolume):
    TYPE: ClassVar[int] = MsgPlayback.VOLUME


class MsgPlaybackMute(AudioMute):
    TYPE: ClassVar[int] = MsgPlayback.MUTE


@dataclass(frozen=True)
class MsgPlaybackLatency(FixedMessage):
    """How far behind the audio the client should keep its clock (its minimum buffer)."""

    TYPE: ClassVar[int] = MsgPlayback.LATENCY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    latency_ms: int


CLIENT_MESSAGES: tuple[type, ...] = ()
