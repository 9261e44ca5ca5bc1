"""Playback channel messages: the server's audio, as raw PCM or Opus frames on the mm clock.

The client sends nothing but the common messages on this channel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..constants import MsgPlayback
from .audio import AudioData, AudioMode, AudioMute, AudioVolume
from .codec import ClientMessage, FixedMessage, ServerMessage


@dataclass(frozen=True, slots=True)
class MsgPlaybackData(AudioData, ServerMessage):
    """One frame to play when the client's clock reaches ``time``."""

    TYPE: ClassVar[int] = MsgPlayback.DATA


@dataclass(frozen=True, slots=True)
class MsgPlaybackMode(AudioMode, ServerMessage):
    TYPE: ClassVar[int] = MsgPlayback.MODE


@dataclass(frozen=True, slots=True)
class MsgPlaybackStart(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgPlayback.START
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IHII")
    channels: int
    format: int
    frequency: int
    time: int


@dataclass(frozen=True, slots=True)
class MsgPlaybackStop(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgPlayback.STOP


@dataclass(frozen=True, slots=True)
class MsgPlaybackVolume(AudioVolume, ServerMessage):
    TYPE: ClassVar[int] = MsgPlayback.VOLUME


@dataclass(frozen=True, slots=True)
class MsgPlaybackMute(AudioMute, ServerMessage):
    TYPE: ClassVar[int] = MsgPlayback.MUTE


@dataclass(frozen=True, slots=True)
class MsgPlaybackLatency(FixedMessage, ServerMessage):
    """How far behind the audio the client should keep its clock (its minimum buffer)."""

    TYPE: ClassVar[int] = MsgPlayback.LATENCY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    latency_ms: int


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = ()
