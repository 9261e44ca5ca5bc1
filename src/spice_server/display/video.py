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

The inter-frame codecs aim at a quality, not a bit rate: a rate fixed per pixel starves
busy pictures (a photograph panning at 30 frames a second came out smeared, under 30 dB
PSNR at times) and wastes bytes on calm ones. Each level is a constant-quality factor
(x264's CRF, libvpx's constrained quality) with a ceiling on the rate, so a scene change
cannot flood the link; the level itself follows the link (see adaptation.py). On a link
with room (the top levels) a 640x480 video or pan measures 37 dB PSNR or more at the
client, at 2 to 7 kB a frame.
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
from .yuv import to_yuv420

MAX_LEVEL = 4
DEFAULT_LEVEL = 3
JPEG_QUALITY = (30, 45, 60, 70, 80)  # by level
# The most bits per pixel per frame the inter-frame codecs may spend, by level: at 960x540
# and 60 frames a second, level 3 allows 12 Mbit/s (what it spends is what its quality
# factor needs, mostly far less).
BITS_PER_PIXEL = (0.02, 0.05, 0.15, 0.4, 0.6)
H264_CRF = (35, 31, 23, 21, 18)  # by level; lower is better (x264's constant rate factor)
VP8_CRF = (40, 30, 20, 10, 4)  # by level; lower is better (libvpx's constrained quality)
# The picture a stream must keep: PSNR at the client against the source. A level under
# it is never chosen: where the link cannot carry frames at the lowest level that holds
# it, fewer frames go (the link's budget paces them) or a leaner codec takes over.
PSNR_TARGET_DB = 35.0
# The lowest level that holds PSNR_TARGET_DB, by codec: the least PSNR of the frames of a
# 560x360 moving photograph and a video-like one, every third frame of their cycle
# (tests/unit/test_video.py checks every level from it up). MJPEG holds it at every level
# (35.7 dB and more); H.264's levels 0 and 1 fall to 28 and 33 dB on the video, VP8's 0
# to 2 to 28 to 34. H.264's level 2 was CRF 27 once: 34.7 dB on the video's hardest
# frames, under the target at the client, so it is CRF 23 (36.2 dB, 2.7 kB a frame
# where CRF 21 spends 3.3).
LOWEST_LEVEL = {VideoCodec.MJPEG: 0, VideoCodec.H264: 2, VideoCodec.VP8: 3}
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

    def __init__(
        self, width: int, height: int, level: int = DEFAULT_LEVEL, corrected: bool = True
    ) -> None:
        """``corrected``: the frames' YUV makes up for spice-gtk's colour conversion
        (see yuv.py); MJPEG, decoded by libjpeg in the client, takes no correction."""
        self.width = width
        self.height = height
        self.level = max(0, min(MAX_LEVEL, level))
        self.corrected = corrected

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

    @abstractmethod
    def quality_options(self, max_rate: int) -> dict[str, str]:
        """The encoder's options for this level's quality, spending at most ``max_rate``."""

    def __init__(
        self, width: int, height: int, level: int = DEFAULT_LEVEL, corrected: bool = True
    ) -> None:
        super().__init__(width, height, level, corrected)
        context = av.CodecContext.create(self.encoder_name, "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width = width
        context.height = height
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, FRAME_RATE)
        context.framerate = Fraction(FRAME_RATE)
        context.gop_size = KEY_FRAME_INTERVAL
        max_rate = int(width * height * FRAME_RATE * BITS_PER_PIXEL[self.level])
        context.options = self.options | self.quality_options(max_rate)
        context.open()
        self._context = context
        self._frames = 0

    def encode(self, pixels: np.ndarray) -> bytes:
        bgrx = np.ascontiguousarray(pixels).view(np.uint8).reshape(self.height, self.width, 4)
        frame = to_yuv420(bgrx, self.corrected)
        frame.pts = self._frames
        self._frames += 1
        return b"".join(bytes(packet) for packet in self._context.encode(frame))


class Vp8Encoder(AvEncoder):
    codec = VideoCodec.VP8
    encoder_name = "libvpx"
    # A negative cpu-used is a fixed speed. A positive one lets libvpx choose its speed
    # from the wall-clock time frames took: on a loaded machine it chose faster, cruder
    # encoding, and the video fell to 34.5 dB, under PSNR_TARGET_DB, at levels that hold
    # it on an idle one. Speed 6: 35.5 dB at worst on the 560x360 video, 12 ms a frame at
    # 1024x768 (speed 8: 34.5 dB). How many frames go is the stream's pacing's to decide.
    options = {"deadline": "realtime", "cpu-used": "-6", "lag-in-frames": "0"}

    def quality_options(self, max_rate: int) -> dict[str, str]:
        # Constrained quality: the CRF's quality, the bit rate as its ceiling.
        return {"crf": str(VP8_CRF[self.level]), "b": str(max_rate), "qmin": "0", "qmax": "63"}


class H264Encoder(AvEncoder):
    """Baseline-like H.264 in Annex B form (start codes, parameter sets with key frames)."""

    codec = VideoCodec.H264
    encoder_name = "libx264"
    options = {"preset": "ultrafast", "tune": "zerolatency"}

    def quality_options(self, max_rate: int) -> dict[str, str]:
        # Constant quality, capped by the VBV (a buffer of one second at the ceiling).
        rate = str(max_rate)
        return {"crf": str(H264_CRF[self.level]), "maxrate": rate, "bufsize": rate}


ENCODERS: dict[VideoCodec, type[VideoEncoder]] = {
    VideoCodec.MJPEG: MjpegEncoder,
    VideoCodec.VP8: Vp8Encoder,
    VideoCodec.H264: H264Encoder,
}


def create_encoder(
    codec: VideoCodec, width: int, height: int, level: int, corrected: bool = True
) -> VideoEncoder:
    return ENCODERS[codec](width, height, level, corrected)
