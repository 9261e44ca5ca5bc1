"""Display channel messages: surfaces, monitors and draw operations (their images: images.py).

Pointers inside a message body are u32 offsets from the start of the body. Our draws
carry no mask, and only a COPY_BITS a clip (its rectangles inline, after the clip's
type), so the image of a DRAW_COPY always starts at offset 57.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from ..constants import (
    BrushType,
    ClipType,
    MsgcDisplay,
    MsgDisplay,
    RopDescriptor,
    StreamFlags,
)
from ..errors import RemoteProtocolError
from ..rect import WIRE_RECT, Rect
from .codec import ClientMessage, FixedMessage, ServerMessage, need

DISPLAY_BASE = struct.Struct("<I16sB")  # surface_id, box, clip type
SURFACE_BOX = struct.Struct("<I16s")  # the base before its clip
QMASK_NONE = struct.pack("<BiiI", 0, 0, 0, 0)
U32 = struct.Struct("<I")
POINT = struct.Struct("<ii")


def _pack_clip(clip: tuple[Rect, ...]) -> bytes:
    """A SpiceClip: its type, then (RECTS) the count and rectangles inline; none: unclipped."""
    if not clip:
        return bytes((ClipType.NONE,))
    rects = b"".join(rect.pack() for rect in clip)
    return bytes((ClipType.RECTS,)) + U32.pack(len(clip)) + rects


def _unpack_clip(body: bytes, at: int, what: str) -> tuple[tuple[Rect, ...], int]:
    """The SpiceClip at ``at``: its rectangles (none: unclipped) and the offset after it."""
    need(body, at + 1, what)
    clip_type = body[at]
    if clip_type not in (ClipType.NONE, ClipType.RECTS):
        raise RemoteProtocolError(f"{what}: unknown clip type {clip_type}")
    at += 1
    if clip_type == ClipType.NONE:
        return (), at
    need(body, at + U32.size, what)
    count = U32.unpack_from(body, at)[0]
    at += U32.size
    end = at + count * WIRE_RECT.size
    need(body, end, what)
    return tuple(Rect.unpack_from(body, offset) for offset in range(at, end, WIRE_RECT.size)), end


def _pack_base(surface_id: int, box: Rect, clip: tuple[Rect, ...] = ()) -> bytes:
    """The draw's surface and box, and its clip: none, or the rectangles it may touch."""
    return SURFACE_BOX.pack(surface_id, box.pack()) + _pack_clip(clip)


def _unpack_base(body: bytes, what: str) -> tuple[int, Rect, tuple[Rect, ...], int]:
    """Surface, box, clip rectangles (none: unclipped) and the offset after them."""
    need(body, DISPLAY_BASE.size + U32.size, what)  # no draw ends with its clip
    surface_id = U32.unpack_from(body)[0]
    clip, end = _unpack_clip(body, SURFACE_BOX.size, what)
    return surface_id, Rect.unpack_from(body, 4), clip, end


# -- server to client -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgDisplayMark(FixedMessage, ServerMessage):
    """The first complete frame is on screen; spice-gtk shows the display after it."""

    TYPE: ClassVar[int] = MsgDisplay.MARK


@dataclass(frozen=True, slots=True)
class MsgDisplayReset(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.RESET


@dataclass(frozen=True, slots=True)
class MsgDisplayInvalAllPalettes(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.INVAL_ALL_PALETTES


@dataclass(frozen=True, slots=True)
class MsgDisplayInvalAllPixmaps(FixedMessage, ServerMessage):
    """The client empties its image cache (after waiting for no other channel)."""

    TYPE: ClassVar[int] = MsgDisplay.INVAL_ALL_PIXMAPS
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<B")  # wait_count, then no waits
    wait_count: int = 0


@dataclass(frozen=True, slots=True)
class MsgDisplaySurfaceCreate(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.SURFACE_CREATE
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<5I")
    surface_id: int
    width: int
    height: int
    format: int
    flags: int


@dataclass(frozen=True, slots=True)
class MsgDisplaySurfaceDestroy(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.SURFACE_DESTROY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    surface_id: int


@dataclass(frozen=True, slots=True)
class MonitorHead:
    HEAD: ClassVar[struct.Struct] = struct.Struct("<7I")
    monitor_id: int
    surface_id: int
    width: int
    height: int
    x: int = 0
    y: int = 0
    flags: int = 0


@dataclass(frozen=True, slots=True)
class MsgDisplayMonitorsConfig(ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.MONITORS_CONFIG
    heads: tuple[MonitorHead, ...]
    max_allowed: int = 1

    def encode(self) -> bytes:
        return struct.pack("<HH", len(self.heads), self.max_allowed) + b"".join(
            MonitorHead.HEAD.pack(h.monitor_id, h.surface_id, h.width, h.height, h.x, h.y, h.flags)
            for h in self.heads
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 4, cls.__name__)
        count, max_allowed = struct.unpack_from("<HH", body)
        size = MonitorHead.HEAD.size
        need(body, 4 + count * size, cls.__name__)
        heads = tuple(
            MonitorHead(*MonitorHead.HEAD.unpack_from(body, 4 + i * size)) for i in range(count)
        )
        return cls(heads, max_allowed)


@dataclass(frozen=True, slots=True)
class MsgDisplayDrawCopy(ServerMessage):
    """Copy ``src_area`` of ``image`` (an encoded SpiceImage; default: all of it) into
    ``box`` of a surface."""

    TYPE: ClassVar[int] = MsgDisplay.DRAW_COPY
    FIXED: ClassVar[struct.Struct] = struct.Struct("<I16sHB")  # src ptr, src_area, rop, scale
    IMAGE_OFFSET: ClassVar[int] = DISPLAY_BASE.size + FIXED.size + len(QMASK_NONE)
    surface_id: int
    box: Rect
    image: bytes
    src_area: Rect | None = None

    def encode(self) -> bytes:
        src_area = self.src_area or Rect(0, 0, self.box.width, self.box.height)
        return (
            _pack_base(self.surface_id, self.box)
            + self.FIXED.pack(self.IMAGE_OFFSET, src_area.pack(), RopDescriptor.OP_PUT, 0)
            + QMASK_NONE
            + self.image
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        surface_id, box, _clip, offset = _unpack_base(body, cls.__name__)
        need(body, offset + cls.FIXED.size + len(QMASK_NONE), cls.__name__)
        (image_offset,) = U32.unpack_from(body, offset)
        if not offset < image_offset <= len(body):
            raise RemoteProtocolError(f"{cls.__name__}: image offset {image_offset} out of range")
        src_area = Rect.unpack_from(body, offset + 4)
        whole = src_area == Rect(0, 0, box.width, box.height)
        return cls(surface_id, box, body[image_offset:], None if whole else src_area)


@dataclass(frozen=True, slots=True)
class MsgDisplayDrawFill(ServerMessage):
    """Fill ``box`` with a solid colour (0x00RRGGBB)."""

    TYPE: ClassVar[int] = MsgDisplay.DRAW_FILL
    FIXED: ClassVar[struct.Struct] = struct.Struct("<BIH")  # brush type, colour, rop
    surface_id: int
    box: Rect
    color: int

    def encode(self) -> bytes:
        return (
            _pack_base(self.surface_id, self.box)
            + self.FIXED.pack(BrushType.SOLID, self.color, RopDescriptor.OP_PUT)
            + QMASK_NONE
        )

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        surface_id, box, _clip, offset = _unpack_base(body, cls.__name__)
        need(body, offset + cls.FIXED.size, cls.__name__)
        _brush, color, _rop = cls.FIXED.unpack_from(body, offset)
        return cls(surface_id, box, color)


@dataclass(frozen=True, slots=True)
class MsgDisplayCopyBits(ServerMessage):
    """Copy pixels inside a surface: ``box`` receives the area that starts at (src_x, src_y);
    with a ``clip``, only the parts of the box inside its rectangles."""

    TYPE: ClassVar[int] = MsgDisplay.COPY_BITS
    surface_id: int
    box: Rect
    src_x: int
    src_y: int
    clip: tuple[Rect, ...] = ()

    def encode(self) -> bytes:
        return _pack_base(self.surface_id, self.box, self.clip) + POINT.pack(self.src_x, self.src_y)

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        surface_id, box, clip, offset = _unpack_base(body, cls.__name__)
        need(body, offset + 8, cls.__name__)
        src_x, src_y = POINT.unpack_from(body, offset)
        return cls(surface_id, box, src_x, src_y, clip)


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamCreate(ServerMessage):
    """A video stream drawn into ``dest`` of a surface; frames follow as STREAM_DATA.
    ``clip``: the parts of ``dest`` its frames may draw on (none: all of it)."""

    TYPE: ClassVar[int] = MsgDisplay.STREAM_CREATE
    FIXED: ClassVar[struct.Struct] = struct.Struct("<IIBBQIIII16s")
    surface_id: int
    id: int
    codec: int
    width: int
    height: int
    dest: Rect
    flags: int = StreamFlags.TOP_DOWN
    stamp: int = 0
    clip: tuple[Rect, ...] = ()

    def encode(self) -> bytes:
        fixed = self.FIXED.pack(
            self.surface_id,
            self.id,
            self.flags,
            self.codec,
            self.stamp,
            self.width,
            self.height,
            self.width,
            self.height,
            self.dest.pack(),
        )
        return fixed + _pack_clip(self.clip)

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FIXED.size, cls.__name__)
        surface, sid, flags, codec, stamp, width, height, _sw, _sh, dest = cls.FIXED.unpack_from(
            body
        )
        clip, _ = _unpack_clip(body, cls.FIXED.size, cls.__name__)
        dest_rect = Rect.unpack_from(dest)
        return cls(surface, sid, codec, width, height, dest_rect, flags, stamp, clip)


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamClip(ServerMessage):
    """The parts of a stream's area its frames draw on from now (none: all of it)."""

    TYPE: ClassVar[int] = MsgDisplay.STREAM_CLIP
    id: int
    clip: tuple[Rect, ...] = ()

    def encode(self) -> bytes:
        return U32.pack(self.id) + _pack_clip(self.clip)

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, U32.size, cls.__name__)
        clip, _ = _unpack_clip(body, U32.size, cls.__name__)
        return cls(U32.unpack_from(body)[0], clip)


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamData(ServerMessage):
    """One encoded frame, to be shown when the client's clock reaches ``mm_time``."""

    TYPE: ClassVar[int] = MsgDisplay.STREAM_DATA
    FIXED: ClassVar[struct.Struct] = struct.Struct("<III")
    id: int
    mm_time: int
    data: bytes

    def encode(self) -> bytes:
        return self.FIXED.pack(self.id, self.mm_time, len(self.data)) + self.data

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, cls.FIXED.size, cls.__name__)
        sid, mm_time, size = cls.FIXED.unpack_from(body)
        need(body, cls.FIXED.size + size, cls.__name__)
        return cls(sid, mm_time, body[cls.FIXED.size : cls.FIXED.size + size])


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamDestroy(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.STREAM_DESTROY
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<I")
    id: int


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamDestroyAll(FixedMessage, ServerMessage):
    TYPE: ClassVar[int] = MsgDisplay.STREAM_DESTROY_ALL


@dataclass(frozen=True, slots=True)
class MsgDisplayStreamActivateReport(FixedMessage, ServerMessage):
    """Asks the client to report on a stream every ``max_window_size`` frames or timeout."""

    TYPE: ClassVar[int] = MsgDisplay.STREAM_ACTIVATE_REPORT
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IIII")
    stream_id: int
    unique_id: int
    max_window_size: int
    timeout_ms: int


# -- client to server -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MsgcDisplayInit(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcDisplay.INIT
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<BqBi")
    pixmap_cache_id: int
    pixmap_cache_size: int
    glz_dictionary_id: int
    glz_dictionary_window_size: int


@dataclass(frozen=True, slots=True)
class MsgcDisplayStreamReport(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcDisplay.STREAM_REPORT
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<IIIIIIiI")
    stream_id: int
    unique_id: int
    start_frame_mm_time: int
    end_frame_mm_time: int
    num_frames: int
    num_drops: int
    last_frame_delay: int
    audio_delay: int


@dataclass(frozen=True, slots=True)
class MsgcDisplayPreferredCompression(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcDisplay.PREFERRED_COMPRESSION
    FORMAT: ClassVar[struct.Struct] = struct.Struct("<B")
    image_compression: int


@dataclass(frozen=True, slots=True)
class MsgcDisplayGlDrawDone(FixedMessage, ClientMessage):
    TYPE: ClassVar[int] = MsgcDisplay.GL_DRAW_DONE


@dataclass(frozen=True, slots=True)
class MsgcDisplayPreferredVideoCodecType(ClientMessage):
    TYPE: ClassVar[int] = MsgcDisplay.PREFERRED_VIDEO_CODEC_TYPE
    codecs: tuple[int, ...]

    def encode(self) -> bytes:
        return bytes((len(self.codecs), *self.codecs))

    @classmethod
    def unpack(cls, body: bytes) -> Self:
        need(body, 1, cls.__name__)
        need(body, 1 + body[0], cls.__name__)
        return cls(tuple(body[1 : 1 + body[0]]))


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
    MsgcDisplayInit,
    MsgcDisplayStreamReport,
    MsgcDisplayPreferredCompression,
    MsgcDisplayGlDrawDone,
    MsgcDisplayPreferredVideoCodecType,
)

assert MsgDisplayDrawCopy.IMAGE_OFFSET == 57
assert WIRE_RECT.size == 16
