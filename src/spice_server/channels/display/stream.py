"""One client's video streams: which codec, when each starts and ends, how they are paced.

The display's stream detector says which areas are video; each client then runs its own
stream of each area, in the codec it decodes best, steered by its own reports. This module
owns that life cycle (create, frames, reports, codec fallback, destroy and lossless
repaint); the client (:class:`StreamHost`) supplies sending, encoding and repainting.
With several streams, the link's budget goes to them in turn (the one whose last frame
is oldest next), and each frame's size is held against its stream's share of the link.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ...core.clock import Clock
from ...core.ratelog import RateLimitedLog
from ...display.adaptation import StreamQuality, StreamReport
from ...display.framebuffer import Framebuffer
from ...display.region import difference, subtract
from ...display.stamping import FrameStamper
from ...display.streams import Stream
from ...display.video import LOWEST_LEVEL, VideoEncoder, create_encoder
from ...protocol.constants import DisplayCap, VideoCodec
from ...protocol.messages.codec import ServerMessage
from ...protocol.messages.display import (
    MsgcDisplayStreamReport,
    MsgDisplayStreamActivateReport,
    MsgDisplayStreamClip,
    MsgDisplayStreamCreate,
    MsgDisplayStreamData,
    MsgDisplayStreamDestroy,
)
from ...protocol.rect import Rect
from ..main import MM_TIME_DELTA_MS

log = logging.getLogger(__name__)

PRIMARY_SURFACE = 0
STREAM_IDS = 64  # ids a client's streams take (spice-gtk grows its table to the id)
REPORT_WINDOW_FRAMES = 1  # the client reports on every frame: each tells its arrival
REPORT_TIMEOUT_MS = 1000
HALF_SIZE_PIXELS = 1024 * 768  # streams larger than this are encoded at half size
MAX_LEFT_OUT = 64  # pieces of a stream's area left out of its clip repainted one by one
CODEC_CAPS = {
    VideoCodec.MJPEG: DisplayCap.CODEC_MJPEG,
    VideoCodec.VP8: DisplayCap.CODEC_VP8,
    VideoCodec.H264: DisplayCap.CODEC_H264,
}


@dataclass
class ClientStream:
    """One client's view of one of the display's streams: its id, codec and encoder."""

    id: int
    serial: int
    rect: Rect
    codec: VideoCodec
    encoder: VideoEncoder
    stamper: FrameStamper  # its frames' stamps go forward, on the client's clock
    turn: int  # when it last sent a frame (or started), in the sender's count
    pending: bool = True
    clip: tuple[Rect, ...] = ()  # what the client was told its frames draw on (none: all)

    @property
    def parts(self) -> tuple[Rect, ...]:
        """Where the client draws its frames."""
        return self.clip or (self.rect,)

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


class CodecChoice:
    """The codecs one client can take, best first: the server's order, unless the client
    said which it prefers; codecs it reported it cannot decode drop out."""

    def __init__(self, server_order: tuple[VideoCodec, ...], client_caps: frozenset[int]) -> None:
        self.server_order = server_order
        self.client_caps = client_caps
        self.preferred: tuple[int, ...] = ()
        self.failed: set[VideoCodec] = set()
        self.heavy: set[VideoCodec] = set()  # their frames are too big for the client's link

    def usable(self) -> list[VideoCodec]:
        usable = [codec for codec in self.server_order if self.decodes(codec)]
        preferred = self.preferred
        usable.sort(key=lambda c: preferred.index(c) if c in preferred else len(preferred))
        usable.sort(key=lambda c: c in self.heavy)  # stable: the leaner ones first
        return usable

    def decodes(self, codec: VideoCodec) -> bool:
        if codec in self.failed:
            return False
        caps = self.client_caps
        # Clients without MULTI_CODEC only know MJPEG; those with it say so explicitly.
        if DisplayCap.MULTI_CODEC not in caps:
            return codec == VideoCodec.MJPEG
        if CODEC_CAPS[codec] not in caps:
            return False
        # spice-gtk advertises codecs its GStreamer cannot decode and says so only in a
        # stream report: without reports only MJPEG, which every client decodes, is safe.
        return codec == VideoCodec.MJPEG or DisplayCap.STREAM_REPORT in caps


Build = Callable[[bytes], ServerMessage | None]
Encode = Callable[[np.ndarray], bytes]


class StreamHost(Protocol):
    """What a stream needs from its display client."""

    client_caps: frozenset[int]
    quiet_log: RateLimitedLog  # for what the client can make us say at will

    def send(self, message: ServerMessage) -> None: ...

    def count(self, kind: str) -> None:
        """Count one image or stream event of this kind (for tests and statistics)."""
        ...

    def encode(
        self,
        pixels: np.ndarray,
        encode: Encode,
        build: Build,
        kind: str,
        area: tuple[Rect, ...],
        still_wanted: Callable[[], bool],
    ) -> None: ...

    def repaint(self, rect: Rect) -> None:
        """Mark ``rect`` stale, to be sent again losslessly."""
        ...

    def surface_generation(self) -> int | None:
        """The framebuffer generation the client's surface shows (None: none yet)."""
        ...

    def surface_rect(self) -> Rect: ...

    def link_rate(self) -> float | None:
        """Bytes per second the client's link delivers, when it was measured."""
        ...

    def playback_active(self) -> bool:
        """Whether sound is playing, which sets the client's clock."""
        ...


class StreamSender:
    """Starts, feeds, steers and ends one client's streams, one per stream of the display."""

    def __init__(
        self,
        host: StreamHost,
        framebuffer: Framebuffer,
        clock: Clock,
        codecs: CodecChoice,
        corrected_colours: bool = True,
        honours_clips: bool = True,
    ) -> None:
        """``corrected_colours``: whether the client shows H.264 and VP8 through GStreamer's
        conversion, which the encoders' YUV makes up for (display/yuv.py).
        ``honours_clips``: whether the client draws frames only within a stream's clip
        (spice-html5 draws them whole: its streams cover all their area)."""
        # Weakly: the host owns this sender, and a cycle between the two would keep a gone
        # client, its buffers with it, until one of the garbage collector's rare full passes.
        # (Logs name it with %s: a proxy's %r is the proxy's own.)
        self.host: StreamHost = weakref.proxy(host)
        self.framebuffer = framebuffer
        self.clock = clock
        self.codecs = codecs
        self.corrected_colours = corrected_colours
        self.honours_clips = honours_clips
        self.active: dict[int, ClientStream] = {}  # by the display stream's serial
        self._report_ids = itertools.count(1)
        self._turns = itertools.count()  # frames sent: the stream waiting longest goes next
        # One per client, not per stream: what the link and the client's clock taught us
        # outlives a stream. MAIN_INIT set the client's clock MM_TIME_DELTA_MS behind ours.
        self.quality = StreamQuality()
        self.stamper = FrameStamper(-MM_TIME_DELTA_MS, drops_late=True)

    def overlaps(self, rect: Rect) -> bool:
        """Whether ``rect`` touches one of this client's streams."""
        return any(not rect.intersect(s.rect).is_empty() for s in self.active.values())

    def take(self, rect: Rect) -> list[Rect]:
        """Damage ``rect``: a new frame for each stream whose clip it touches; the pieces
        outside them are returned, to be sent as images."""
        pieces = [rect]
        for stream in self.active.values():
            for part in stream.parts:
                if not rect.intersect(part).is_empty():
                    stream.pending = True
                    pieces = [piece for p in pieces for piece in subtract(p, part)]
        return pieces

    def follow(self, streams: list[Stream]) -> list[Rect]:
        """Start, replace, clip or end this client's streams to match the display's; the
        areas where the streams that started draw."""
        serials = {stream.serial for stream in streams}
        for serial in [s for s in self.active if s not in serials]:
            self._end(self.active[serial], repaint=True)
        started: list[Rect] = []
        for stream in streams:
            client_stream = self.active.get(stream.serial)
            if client_stream is not None:
                self._clip(client_stream, stream.clip)
            elif self._start(stream):
                started.extend(self.active[stream.serial].parts)
        return started

    def _clip(self, stream: ClientStream, clip: tuple[Rect, ...]) -> None:
        """Tell the client where the stream's frames draw from now; what they no longer
        draw on shows their lossy pixels: it is repainted."""
        if not self.honours_clips or clip == stream.clip:
            return
        before, stream.clip = stream.parts, clip
        self.host.send(MsgDisplayStreamClip(stream.id, clip))
        self.host.count("stream-clip")
        for rect in before:
            left_out = difference(rect, stream.parts, MAX_LEFT_OUT)
            for part in [rect] if left_out is None else left_out:
                self.host.repaint(part)

    def _start(self, stream: Stream) -> bool:
        if not self._can_stream(stream):
            return False
        width, height = ClientStream.size_for(stream.rect)
        for codec in self.codecs.usable():
            try:
                encoder = self._encoder(codec, (width, height))
            except Exception:
                log.exception("%s: no %s encoder; trying the next codec", self.host, codec.name)
                self.codecs.failed.add(codec)
                continue
            break
        else:
            return False
        used = {s.id for s in self.active.values()}
        stream_id = next(i for i in range(STREAM_IDS) if i not in used)
        # spice-gtk's built-in MJPEG decoder drops late frames; its GStreamer path not.
        stamper = self.stamper.for_stream(drops_late=codec == VideoCodec.MJPEG)
        clip = stream.clip if self.honours_clips else ()
        turn = next(self._turns)
        client_stream = ClientStream(
            stream_id, stream.serial, stream.rect, codec, encoder, stamper, turn, clip=clip
        )
        self.active[stream.serial] = client_stream
        host = self.host
        host.send(
            MsgDisplayStreamCreate(
                PRIMARY_SURFACE, stream_id, codec, width, height, stream.rect, clip=clip
            )
        )
        if DisplayCap.STREAM_REPORT in host.client_caps:
            host.send(
                MsgDisplayStreamActivateReport(
                    stream_id, next(self._report_ids), REPORT_WINDOW_FRAMES, REPORT_TIMEOUT_MS
                )
            )
        host.count("stream")
        host.count(f"stream-{codec.name.lower()}")
        return True

    def _can_stream(self, stream: Stream) -> bool:
        if self.host.surface_generation() != self.framebuffer.generation:
            return False  # the surface comes first
        return stream.rect.intersect(self.host.surface_rect()) == stream.rect

    def end(self, repaint: bool = True) -> None:
        """End all of this client's streams."""
        for stream in list(self.active.values()):
            self._end(stream, repaint)

    def _end(self, stream: ClientStream, repaint: bool) -> None:
        del self.active[stream.serial]
        self.host.send(MsgDisplayStreamDestroy(stream.id))
        if repaint:  # nothing lossy stays on screen (what its clip left out was repainted)
            for part in stream.parts:
                self.host.repaint(part)

    def report(self, message: MsgcDisplayStreamReport, detected: list[Stream]) -> None:
        """A client's report on one of its streams; ``detected``: the display's streams."""
        stream = next((s for s in self.active.values() if s.id == message.stream_id), None)
        if stream is None:
            return  # a report on a stream that has ended meanwhile
        report = StreamReport(message.num_frames, message.num_drops, message.last_frame_delay)
        if report.cannot_decode:
            self.host.quiet_log.warning(
                "%s: the client cannot decode %s; switching codec", self.host, stream.codec.name
            )
            self.codecs.failed.add(stream.codec)
            for other in [s for s in self.active.values() if s.codec == stream.codec]:
                self._end(other, repaint=True)
            self.follow(detected)
            return
        self.stamper.reported(message.end_frame_mm_time, report.last_frame_delay_ms)

    def _switch_from(self, codec: VideoCodec) -> bool:
        """The link cannot carry this codec's frames: restart the streams in a leaner one
        the client decodes, if there is one (MJPEG, a picture per frame, is the heaviest)."""
        self.codecs.heavy.add(codec)
        usable = self.codecs.usable()
        if not usable or usable[0] == codec:
            return False
        log.info("%s: %s is too heavy for the link; now %s", self.host, codec.name, usable[0].name)
        self.quality.codec_changed()
        # The next change of an area starts its stream again in the leaner codec; until
        # then the client keeps the last picture (the area keeps moving, or a still area
        # ends the stream and is repainted losslessly).
        for stream in [s for s in self.active.values() if s.codec == codec]:
            self._end(stream, repaint=False)
        return True

    def _level(self, codec: VideoCodec) -> int:
        """The quality level for a new encoder: the client's, or the codec's lowest that
        holds the PSNR target if that is higher."""
        return max(self.quality.level, LOWEST_LEVEL[codec])

    def _encoder(self, codec: VideoCodec, size: tuple[int, int]) -> VideoEncoder:
        return create_encoder(codec, *size, self._level(codec), self.corrected_colours)

    def frame_due(self) -> bool:
        """New pixels wait in a stream's area (the link's budget paces how often)."""
        return any(stream.pending for stream in self.active.values())

    def send_frame(self) -> None:
        """A frame of the stream with new pixels that has waited longest for its turn."""
        stream = min((s for s in self.active.values() if s.pending), key=lambda s: s.turn)
        stream.pending = False
        stream.turn = next(self._turns)
        generation, pixels = self.framebuffer.read(stream.source, stream.step)
        if generation != self.host.surface_generation():
            return
        now = self.clock.mm_time()
        stamp = stream.stamper.stamp(now, now if self.host.playback_active() else None)
        if stream.encoder.level != self._level(stream.codec):  # changed for another stream
            stream.encoder = self._encoder(stream.codec, stream.size)
        encoder = stream.encoder
        share = stream.rect.area / sum(s.rect.area for s in self.active.values())

        def frame(data: bytes) -> MsgDisplayStreamData | None:
            lowest = LOWEST_LEVEL[stream.codec]
            if self.quality.frame_sent(len(data), self.host.link_rate(), share, lowest):
                log.debug("%s: stream quality level %d", self.host, self.quality.level)
                stream.encoder = self._encoder(stream.codec, stream.size)
            elif self.quality.too_heavy and self._switch_from(stream.codec):
                return None
            # An inter-frame encoder may hold a frame back; then there is nothing to send.
            return MsgDisplayStreamData(stream.id, stamp, data) if data else None

        self.host.encode(
            pixels,
            encoder.encode,
            frame,
            "frame",
            stream.parts,  # an echo beside them, in a window over the video, may pass
            lambda: self.active.get(stream.serial) is stream and stream.encoder is encoder,
        )
