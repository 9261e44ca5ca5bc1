"""Video encoders for streams: MJPEG, VP8 and H.264.

MJPEG is a JPEG per frame (libjpeg-turbo through simplejpeg): every client decodes it,
each frame stands alone, and it is cheap to make, but it costs many bytes. VP8 (libvpx)
and H.264 (libx264) go through PyAV: a tenth of the bytes or less for moving pictures,
since frames only say what changed. spice-gtk decodes them through GStreamer and says so
in its capabilities.

An encoder belongs to one client's stream: the inter-frame codecs carry state from frame
to frame, so one encoder must see that stream's frames in order, one at a time (the
display channel never has two encodes in flight for one client). Quality comes as a
level from 0 (fewest bytes) to MAX_LEVEL; changing it means a new encoder, which starts
with a key frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

import av
import numpy as np

from ..protocol.constants import VideoCodec
from .encoding import encode_jpeg

MAX_LEVEL = 4
DEFAULT_LEVEL = 3
JPEG_QUALITY = (30, 45, 60, 70, 80)  # by level
# Bits per pixel per frame for the inter-frame codecs, by level: at 960x540 and 60 frames
# a second, level 3 is 3.1 Mbit/s.
BITS_PER_PIXEL = (0.015, 0.03, 0.05, 0.1, 0.16)
FRAME_RATE = 60  # the rate encoders plan their bit budget for
KEY_FRAME_INTERVAL = 2 * FRAME_RATE  # a lost decoder state heals within two seconds

CODEC_NAMES: dict[str, VideoCodec] = {
    "mjpeg": VideoCodec.MJPEG,
    "vp8": VideoCodec.VP8,
    "h264": VideoCodec.H264,
}


def parse_codecs(names: Sequence[str]) -> tuple[VideoCodec, ...]:
    """Codec names in the order of preference, as the server setting takes them."""
    unknown = [name for name in names if name not in CODEC_NAMES]
    if unknown or not names:
        raise ValueError(
            f"video codecs {list(names)!r}: choose from {', '.join(CODEC_NAMES)} (at least one)"
        )
    return tuple(dict.fromkeys(CODEC_NAMES[name] for name in names))


class VideoEncoder(ABC):
    """Turns the frames of one stream into the bytes of STREAM_DATA messages."""

    codec: ClassVar[VideoCodec]

    def __init__(self, width: int, height: int, level: int = DEFAULT_LEVEL) -> None:
        self.width = width
        self.height = height
        self.level = max(0, min(MAX_LEVEL, level))

    @abstractmethod
    def encode(self, pixels: np.ndarray) -> bytes:
        """Encode one frame of ``height`` x ``width`` B, G, R, X pixels (uint32)."""


class MjpegEncoder(VideoEncoder):
    codec = VideoCodec.MJPEG

    def encode(self, pixels: np.ndarray) -> bytes:
        return encode_jpeg(pixels, JPEG_QUALITY[self.level])


class AvEncoder(VideoEncoder):
    """An FFmpeg encoder through PyAV, tuned for latency: no frame waits for a later one."""

    encoder_name: ClassVar[str]
    options: ClassVar[dict[str, str]]

    def __init__(self, width: int, height: int, level: int = DEFAULT_LEVEL) -> None:
        super().__init__(width, height, level)
        context = av.CodecContext.create(self.encoder_name, "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width = width
        context.height = height
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, FRAME_RATE)
        context.framerate = Fraction(FRAME_RATE)
        context.gop_size = KEY_FRAME_INTERVAL
        context.bit_rate = int(width * height * FRAME_RATE * BITS_PER_PIXEL[self.level])
        context.options = dict(self.options)
        context.open()
        self._context = context
        self._frames = 0

    def encode(self, pixels: np.ndarray) -> bytes:
        bgrx = np.ascontiguousarray(pixels).view(np.uint8).reshape(self.height, self.width, 4)
        frame = av.VideoFrame.from_ndarray(bgrx, format="bgra").reformat(format="yuv420p")
        frame.pts = self._frames
        self._frames += 1
        return b"".join(bytes(packet) for packet in self._context.encode(frame))


class Vp8Encoder(AvEncoder):
    codec = VideoCodec.VP8
    encoder_name = "libvpx"
    options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}


class H264Encoder(AvEncoder):
    """Baseline-like H.264 in Annex B form (start codes, parameter sets with key frames)."""

    codec = VideoCodec.H264
    encoder_name = "libx264"
    options = {"preset": "ultrafast", "tune": "zerolatency"}


ENCODERS: dict[VideoCodec, type[VideoEncoder]] = {
    VideoCodec.MJPEG: MjpegEncoder,
    VideoCodec.VP8: Vp8Encoder,
    VideoCodec.H264: H264Encoder,
}


def create_encoder(codec: VideoCodec, width: int, height: int, level: int) -> VideoEncoder:
    return ENCODERS[codec](width, height, level)
