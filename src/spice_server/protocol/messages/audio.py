"""Bodies shared by the playback and record channels: timed audio data, volume, mute."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..errors import LocalProtocolError
from .codec import FixedMessage, WireMessage, need

TIME = struct.Struct("<I")
MODE = struct.Struct("<IH")
VOLUME_COUNT = struct.Struct("<B")


@dataclass(frozen=True, slots=True)
class AudioData(WireMessage):
    """A u32 mm_time then one frame to the end of the body (PCM or an Opus packet)."""

    TYPE: ClassVar[int]
    time: int
    data: bytes

    def encode(self) -> bytes:
        return TIME.pack(self.time) + self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, TIME.size, cls.__name__)
        (time,) = TIME.unpack_from(body)
        return cls(time, bytes(body[TIME.size :]))


@dataclass(frozen=True, slots=True)
class AudioMode(WireMessage):
    """The data mode (``AudioDataMode``) of the frames that follow, with codec data (unused)."""

    TYPE: ClassVar[int]
    time: int
    mode: int
    data: bytes = b""

    def encode(self) -> bytes:
        return MODE.pack(self.time, self.mode) + self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, MODE.size, cls.__name__)
        time, mode = MODE.unpack_from(body)
        return cls(time, mode, bytes(body[MODE.size :]))


@dataclass(frozen=True, slots=True)
class AudioVolume(WireMessage):
    """One u16 level per audio channel; clients refuse an empty list, so it is never built."""

    TYPE: ClassVar[int]
    volume: tuple[int, ...]

    def encode(self) -> bytes:
        if not 1 <= len(self.volume) <= 255:
            raise LocalProtocolError(f"{len(self.volume)} volume levels: 1 to 255 allowed")
        return VOLUME_COUNT.pack(len(self.volume)) + struct.pack(
            f"<{len(self.volume)}H", *self.volume
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, VOLUME_COUNT.size, cls.__name__)
        (count,) = VOLUME_COUNT.unpack_from(body)
        need(body, VOLUME_COUNT.size + 2 * count, cls.__name__)
        return cls(struct.unpack_from(f"<{count}H", body, VOLUME_COUNT.size))


@dataclass(frozen=True, slots=True)
class AudioMute(FixedMessage):
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<B")
    mute: int
