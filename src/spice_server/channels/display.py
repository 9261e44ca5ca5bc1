"""The display channel: one per Display, sending its surface to each client as it changes.

Each client keeps its own dirty region. When its socket and ack window have room, it reads
the current pixels of a dirty rectangle, encodes them and sends a DRAW_COPY. A slow client
therefore never sees stale frames queued up: it simply gets the newest pixels later. The
order at start follows libspice: SET_ACK, SURFACE_CREATE, MONITORS_CONFIG, the full
surface, then MARK (spice-gtk shows nothing before MARK follows a primary surface).
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..display.adaptation import StreamAdaptation, StreamReport
from ..display.content import is_photographic
from ..display.encoding import encode_bitmap, encode_jpeg_image, encode_lz4
from ..display.framebuffer import CopyOp, DamageOp
from ..display.region import Region, subtract
from ..display.streams import Stream, StreamDetector
from ..display.video import VideoEncoder, create_encoder
from ..protocol.constants import (
    ChannelType,
    DisplayCap,
    ImageCompression,
    SurfaceFlags,
    SurfaceFormat,
    VideoCodec,
)
from ..protocol.messages.display import (
    MonitorHead,
    MsgcDisplayInit,
    MsgcDisplayPreferredCompression,
    MsgcDisplayPreferredVideoCodecType,
    MsgcDisplayStreamReport,
    MsgDisplayCopyBits,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayMark,
    MsgDisplayMonitorsConfig,
    MsgDisplayStreamActivateReport,
    MsgDisplayStreamCreate,
    MsgDisplayStreamData,
    MsgDisplayStreamDestroy,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from ..protocol.rect import Rect
from .base import Channel, ChannelClient
from .main import MM_TIME_DELTA_MS

if TYPE_CHECKING:
    from ..interfaces.display import Display

log = logging.getLogger(__name__)

PRIMARY_SURFACE = 0
MAX_STREAMS = 64  # stream ids the protocol allows
JPEG_QUALITY = 85  # for photographic still images
MIN_JPEG_PIXELS = 64 * 64  # smaller images are not worth a lossy encoding
REPORT_WINDOW_FRAMES = 20  # the client reports on a stream every this many frames...
REPORT_TIMEOUT_MS = 1000  # ...or this often
HALF_SIZE_PIXELS = 1024 * 768  # streams larger than this are encoded at half size
OFFLOAD_PIXELS = 64 * 1024  # images larger than this are encoded off the loop
STREAM_CHECK_MS = 250
MAX_DRAW_BYTES = 256 * 1024  # raw pixels per DRAW_COPY; larger areas go in bands
CODEC_CAPS = {
    VideoCodec.MJPEG: DisplayCap.CODEC_MJPEG,
    VideoCodec.VP8: DisplayCap.CODEC_VP8,
    VideoCodec.H264: DisplayCap.CODEC_H264,
}
LOSSLESS_COMPRESSIONS = {
    ImageCompression.LZ4,
    ImageCompression.AUTO_LZ,
    ImageCompression.AUTO_GLZ,
    ImageCompression.LZ,
    ImageCompression.GLZ,
    ImageCompression.QUIC,
}


class DisplayChannel(Channel):
    type = ChannelType.DISPLAY

    def __init__(self, server: Any, display: Display) -> None:
        super().__init__(server, display.display_id)
        self.display = display
        self.detector = StreamDetector(photographic_only=server.streaming_video == "filter")
        assert server.core is not None, "channels exist only once the server has a core"
        self.core = server.core
        self._expiry = self.core.timer_add(self._expire_stream)

    def caps(self) -> frozenset[int]:
        return frozenset(
            {
                DisplayCap.MONITORS_CONFIG,
                DisplayCap.PREF_COMPRESSION,
                DisplayCap.STREAM_REPORT,
                DisplayCap.PREF_VIDEO_CODEC_TYPE,
            }
        )

    def create_client(self, session: Any, connection: Any, link: Any) -> DisplayChannelClient:
        return DisplayChannelClient(self, session, connection, link)

    def distribute(self) -> None:
        """Hand the display's new damage to every client and let them send."""
        _generation, ops = self.display.framebuffer.take_damage()
        stream = None
        if self.server.streaming_video != "off":
            had = self.detector.stream
            rects = [op for op in ops if isinstance(op, Rect)]
            stream = self.detector.observe(rects, time.monotonic(), self._read)
            if stream is not None and had is None:
                self.core.timer_start(self._expiry, STREAM_CHECK_MS)
            self.display.framebuffer.hot = stream.rect if stream is not None else None
        self._spread(ops, stream)

    def _spread(self, ops: list[DamageOp], stream: Stream | None) -> None:
        for client in self.clients:
            assert isinstance(client, DisplayChannelClient)
            client.damage(ops, stream)
            client.pump()

    def _read(self, rect: Rect) -> Any:
        return self.display.framebuffer.read(rect)[1]

    def _expire_stream(self, opaque: Any) -> None:
        if self.detector.expire(time.monotonic()):
            self.display.framebuffer.hot = None
            self._spread([], None)  # clients end the stream and repaint it losslessly
        elif self.detector.stream is not None:
            self.core.timer_start(self._expiry, STREAM_CHECK_MS)

    def close(self, reason: str) -> None:
        self.core.timer_remove(self._expiry)
        super().close(reason)


@dataclass
class ClientStream:
    """One client's view of the display's stream: its id, codec and encoder."""

    id: int
    serial: int
    rect: Rect
    codec: VideoCodec
    encoder: VideoEncoder
    pending: bool = True
    last_frame: float = 0.0

    @staticmethod
    def step_for(rect: Rect) -> int:
        """Large streams are encoded at half size: a quarter of the encoding and the bytes,
        and the client scales them back up. Video forgives it; text never streams."""
        return 2 if rect.area > HALF_SIZE_PIXELS else 1

    @staticmethod
    def size_for(rect: Rect) -> tuple[int, int]:
        """The encoded frame size: even both ways, as 4:2:0 video wants."""
        step = ClientStream.step_for(rect)
        return rect.width // step & ~1, rect.height // step & ~1

    @property
    def step(self) -> int:
        return self.step_for(self.rect)

    @property
    def size(self) -> tuple[int, int]:
        return self.size_for(self.rect)

    @property
    def source(self) -> Rect:
        """What to read for a frame: the rect, trimmed to a whole number of steps."""
        step = self.step
        width, height = self.size
        left, top = self.rect.left, self.rect.top
        return Rect(left, top, left + width * step, top + height * step)


class DisplayChannelClient(ChannelClient):
    ack_window = 20
    max_message_size = 4 * 1024

    channel: DisplayChannel

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.display = self.channel.display
        self._generation: int | None = None  # of the surface the client has
        self._surface = Rect(0, 0, 0, 0)
        self._dirty = Region()
        self._need_mark = False
        self.preferred_compression: int | None = None
        self.images: Counter[str] = Counter()  # images sent, by encoding
        self._stream: ClientStream | None = None
        self._encoding = False
        self._stream_ids = itertools.cycle(range(MAX_STREAMS))
        self._report_ids = itertools.count(1)
        self._preferred_codecs: tuple[int, ...] = ()
        self._failed_codecs: set[VideoCodec] = set()
        # One per client, not per stream: what the link taught us outlives a stream.
        self._adaptation = StreamAdaptation()

    def start(self) -> None:
        super().start()
        self.pump()

    def damage(self, ops: list[DamageOp], stream: Stream | None = None) -> None:
        self._follow_stream(stream)
        current = self._stream
        for rect in ops:
            if isinstance(rect, CopyOp):
                self._copy(rect)
            elif current is not None and not rect.intersect(current.rect).is_empty():
                current.pending = True
                for piece in subtract(rect, current.rect):
                    self._dirty.add(piece)
            else:
                self._dirty.add(rect)

    def _copy(self, op: CopyOp) -> None:
        """Move pixels on the client as they moved here, and what was stale moves along.

        When a copy cannot go out now (the client is behind, an image is being encoded, a
        stream is in the way) the destination is simply marked stale instead.
        """
        src, dest = op.src, op.dest
        stream = self._stream
        if (
            self._generation != self.display.framebuffer.generation
            or self._encoding
            or not self.can_send_more()
            or (stream is not None and not stream.rect.intersect(src.union(dest)).is_empty())
        ):
            self._dirty.add(dest)
            return
        dx, dy = dest.left - src.left, dest.top - src.top
        moved = Region()
        for rect in self._dirty:
            for piece in subtract(rect, dest):
                moved.add(piece)
            inside = rect.intersect(src)
            if not inside.is_empty():
                shifted = Rect(
                    inside.left + dx, inside.top + dy, inside.right + dx, inside.bottom + dy
                )
                moved.add(shifted.intersect(dest))
        self._dirty = moved
        self.send(MsgDisplayCopyBits(PRIMARY_SURFACE, dest, op.src_x, op.src_y))
        self.images["copy"] += 1

    # -- video streams ---------------------------------------------------------------------

    def _follow_stream(self, stream: Stream | None) -> None:
        """Start, replace or end this client's stream to match the display's."""
        current = self._stream
        if current is not None and (stream is None or stream.serial != current.serial):
            self._end_stream()
        if stream is None or self._stream is not None or not self._can_stream(stream):
            return
        width, height = ClientStream.size_for(stream.rect)
        for codec in self._codecs():
            try:
                encoder = create_encoder(codec, width, height, self._adaptation.level)
            except Exception:
                log.exception("%r: no %s encoder; trying the next codec", self, codec.name)
                self._failed_codecs.add(codec)
                continue
            break
        else:
            return
        stream_id = next(self._stream_ids)
        self._stream = ClientStream(stream_id, stream.serial, stream.rect, codec, encoder)
        self.send(
            MsgDisplayStreamCreate(PRIMARY_SURFACE, stream_id, codec, width, height, stream.rect)
        )
        if DisplayCap.STREAM_REPORT in self.client_caps:
            self.send(
                MsgDisplayStreamActivateReport(
                    stream_id, next(self._report_ids), REPORT_WINDOW_FRAMES, REPORT_TIMEOUT_MS
                )
            )
        self.images["stream"] += 1
        self.images[f"stream-{codec.name.lower()}"] += 1

    def _can_stream(self, stream: Stream) -> bool:
        if self._generation != self.display.framebuffer.generation:
            return False  # the surface comes first
        return stream.rect.intersect(self._surface) == stream.rect

    def _codecs(self) -> list[VideoCodec]:
        """The codecs this client can take, best first: the server's order, unless the
        client said which it prefers."""
        usable = [codec for codec in self.server.video_codecs if self._decodes(codec)]
        preferred = self._preferred_codecs
        usable.sort(key=lambda c: preferred.index(c) if c in preferred else len(preferred))
        return usable

    def _decodes(self, codec: VideoCodec) -> bool:
        if codec in self._failed_codecs:
            return False
        # Clients without MULTI_CODEC only know MJPEG; those with it say so explicitly.
        if DisplayCap.MULTI_CODEC not in self.client_caps:
            return codec == VideoCodec.MJPEG
        if CODEC_CAPS[codec] not in self.client_caps:
            return False
        # spice-gtk advertises codecs its GStreamer cannot decode and says so only in a
        # stream report: without reports only MJPEG, which every client decodes, is safe.
        return codec == VideoCodec.MJPEG or DisplayCap.STREAM_REPORT in self.client_caps

    def _stream_report(self, message: MsgcDisplayStreamReport) -> None:
        stream = self._stream
        if stream is None or message.stream_id != stream.id:
            return  # a report on a stream that has ended meanwhile
        report = StreamReport(message.num_frames, message.num_drops, message.last_frame_delay)
        if report.cannot_decode:
            log.warning("%r: the client cannot decode %s; switching codec", self, stream.codec.name)
            self._failed_codecs.add(stream.codec)
            self._end_stream()
            self._follow_stream(self.channel.detector.stream)
            self.pump()
            return
        adaptation = self._adaptation
        if adaptation.report(report):
            log.debug(
                "%r: stream %d quality level %d, margin %d ms",
                self,
                stream.id,
                adaptation.level,
                adaptation.margin_ms,
            )
            stream.encoder = create_encoder(stream.codec, *stream.size, adaptation.level)

    def _end_stream(self, repaint: bool = True) -> None:
        current, self._stream = self._stream, None
        if current is None:
            return
        self.send(MsgDisplayStreamDestroy(current.id))
        if repaint:
            self._dirty.add(current.rect)  # repaint losslessly: nothing lossy stays on screen

    def _frame_due(self, stream: ClientStream) -> bool:
        """A pending frame waits while the adaptation paces the stream below full rate."""
        if not stream.pending:
            return False
        return time.monotonic() - stream.last_frame >= self._adaptation.frame_interval_s

    def _send_frame(self, stream: ClientStream) -> None:
        stream.pending = False
        stream.last_frame = time.monotonic()
        generation, pixels = self.display.framebuffer.read(stream.source, stream.step)
        if generation != self._generation:
            return
        margin = self._adaptation.margin_ms
        stamp = (self.server.mm_time() - MM_TIME_DELTA_MS + margin) & 0xFFFFFFFF
        encoder = stream.encoder

        def frame(data: bytes) -> MsgDisplayStreamData | None:
            # An inter-frame encoder may hold a frame back; then there is nothing to send.
            return MsgDisplayStreamData(stream.id, stamp, data) if data else None

        self._encode(
            pixels,
            encoder.encode,
            frame,
            "frame",
            still_wanted=lambda: self._stream is stream and stream.encoder is encoder,
        )

    def handle_message(self, message: Any) -> None:
        match message:
            case MsgcDisplayInit():
                pass  # cache and dictionary ids: we use neither yet
            case MsgcDisplayPreferredCompression(image_compression=compression):
                self.preferred_compression = compression
                log.info("%r: client prefers image compression %d", self, compression)
            case MsgcDisplayPreferredVideoCodecType(codecs=codecs):
                self._preferred_codecs = codecs
                log.info("%r: client prefers video codecs %s", self, list(codecs))
            case MsgcDisplayStreamReport():
                self._stream_report(message)
            case _:
                super().handle_message(message)

    def pump(self) -> None:
        framebuffer = self.display.framebuffer
        while self.can_send_more():
            if self._generation != framebuffer.generation:
                self._create_surface()
                continue
            if self._stream is not None and self._frame_due(self._stream):
                self._send_frame(self._stream)
                continue
            if not self._dirty:
                if self._need_mark:
                    self.send(MsgDisplayMark())
                    self._need_mark = False
                return
            self._send_rect(self._dirty.pop())

    def _create_surface(self) -> None:
        framebuffer = self.display.framebuffer
        width, height = framebuffer.width, framebuffer.height
        self._end_stream(repaint=False)
        if self._generation is not None:
            self.send(MsgDisplaySurfaceDestroy(PRIMARY_SURFACE))
        self._generation = framebuffer.generation
        self._surface = Rect(0, 0, width, height)
        self.send(
            MsgDisplaySurfaceCreate(
                PRIMARY_SURFACE, width, height, SurfaceFormat.XRGB32, SurfaceFlags.PRIMARY
            )
        )
        self.send(MsgDisplayMonitorsConfig((MonitorHead(0, PRIMARY_SURFACE, width, height),), 1))
        # The first image is the whole surface in one draw, as libspice sends it: simple
        # clients (spicy-screenshot) take the first draw after the surface as "the screen".
        self._dirty.clear()
        self._send_rect(self._surface, whole=True)
        self._need_mark = True

    def _send_rect(self, rect: Rect, whole: bool = False) -> None:
        rect = rect.intersect(self._surface)
        if rect.is_empty():
            return
        rows = max(1, MAX_DRAW_BYTES // (rect.width * 4))
        if rect.height > rows and not whole:
            # Send the top band now and leave the rest dirty: a later pass reads newer pixels.
            self._dirty.add(Rect(rect.left, rect.top + rows, rect.right, rect.bottom))
            rect = Rect(rect.left, rect.top, rect.right, rect.top + rows)
        generation, pixels = self.display.framebuffer.read(rect)
        if generation != self._generation:
            return  # resized meanwhile; the next pump re-creates the surface
        first = pixels.flat[0]
        if (pixels == first).all():
            # One colour: a 41-byte fill instead of an image (every client draws fills).
            self.send(MsgDisplayDrawFill(PRIMARY_SURFACE, rect, int(first) & 0xFFFFFF))
            self.images["fill"] += 1
            return

        def draw(image: bytes) -> MsgDisplayDrawCopy:
            return MsgDisplayDrawCopy(PRIMARY_SURFACE, rect, image)

        compressing = self._image_compression() != ImageCompression.OFF
        if (
            compressing
            and self._lossy_allowed()
            and pixels.size >= MIN_JPEG_PIXELS
            and is_photographic(pixels)
        ):
            jpeg = functools.partial(encode_jpeg_image, quality=JPEG_QUALITY)
            self._encode(pixels, jpeg, draw, "jpeg")
        elif compressing and DisplayCap.LZ4_COMPRESSION in self.client_caps:
            self._encode(pixels, encode_lz4, draw, "lz4")
        else:
            self.send(draw(encode_bitmap(pixels)))
            self.images["bitmap"] += 1

    def _encode(
        self,
        pixels: np.ndarray,
        encode: Callable[[np.ndarray], bytes],
        build: Callable[[bytes], Any | None],
        kind: str,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> None:
        """Encode and send; big images are encoded on the server's encoder threads.

        While one is being encoded this client produces nothing else, so its messages keep
        their order, and the loop stays free for input and the other clients meanwhile.
        """
        if pixels.size < OFFLOAD_PIXELS:
            self._send_built(build(encode(pixels)), kind)
            return
        generation = self._generation
        self._encoding = True
        future = self.server.encoders.submit(encode, pixels)

        def done(result: Future[bytes]) -> None:
            self._encoding = False
            if self.closed:
                return
            try:
                data = result.result()
            except Exception:
                log.exception("%r: encoding an image failed", self)
                self.close("an image could not be encoded", logging.ERROR)
                return
            if generation == self._generation and still_wanted():
                self._send_built(build(data), kind)
            self.pump()

        future.add_done_callback(lambda f: self.server.call_soon_threadsafe(done, f))

    def _send_built(self, message: Any | None, kind: str) -> None:
        if message is not None:
            self.send(message)
            self.images[kind] += 1

    def can_send_more(self) -> bool:
        return not self._encoding and super().can_send_more()

    def _image_compression(self) -> ImageCompression:
        """The server's setting, unless the client asked for one it may choose."""
        if self.preferred_compression in (ImageCompression.OFF, *LOSSLESS_COMPRESSIONS):
            return ImageCompression(self.preferred_compression)
        return self.server.image_compression

    def _lossy_allowed(self) -> bool:
        """JPEG for photographic images: always, never, or ("auto") only for clients that
        decode no LZ4, whose only lossless choice would be raw pixels (spice-html5)."""
        setting = self.server.jpeg_compression
        if setting == "auto":
            return DisplayCap.LZ4_COMPRESSION not in self.client_caps
        return setting == "always"
