"""Stream encoders and the quality that fits the link, without a client."""

from __future__ import annotations

import av
import numpy as np
import pytest

from spice_server.display.adaptation import (
    FRAMES_TO_RAISE,
    FRAMES_TOO_HEAVY,
    HEADROOM,
    TARGET_FPS,
    StreamQuality,
    StreamReport,
)
from spice_server.display.video import (
    DEFAULT_LEVEL,
    LOWEST_LEVEL,
    MAX_LEVEL,
    PSNR_TARGET_DB,
    create_encoder,
    parse_codecs,
)
from spice_server.display.yuv import CORRECTION, to_yuv420
from spice_server.protocol.constants import VideoCodec
from xmover import FRAMES_PER_CYCLE
from xmover import frame as moving_frame

DECODERS = {VideoCodec.MJPEG: "mjpeg", VideoCodec.VP8: "vp8", VideoCodec.H264: "h264"}


def gradient(width: int, height: int, shift: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    r, g, b = (x * 2 + shift) % 256, (y * 3) % 256, ((x + y) // 2) % 256
    return ((r << 16) | (g << 8) | b).astype(np.uint32)


@pytest.mark.parametrize("codec", [VideoCodec.MJPEG, VideoCodec.VP8, VideoCodec.H264])
def test_each_encoder_makes_frames_a_decoder_reads_back(codec):
    encoder = create_encoder(codec, 160, 96, DEFAULT_LEVEL)
    decoder = av.CodecContext.create(DECODERS[codec], "r")
    decoded = []
    for shift in range(0, 40, 4):
        pixels = gradient(160, 96, shift)
        packet = encoder.encode(pixels)
        assert packet, "every frame comes out at once: nothing waits for later frames"
        for frame in decoder.decode(av.Packet(packet)):
            decoded.append((frame.to_ndarray(format="rgb24").astype(int), pixels))
    assert len(decoded) == 10
    shown, expected = decoded[-1]
    want = expected.view(np.uint8).reshape(96, 160, 4)[..., 2::-1].astype(int)
    assert np.abs(shown - want).mean() < 8


def psnr(shown: np.ndarray, expected: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two (h, w) uint32 0x..RRGGBB pictures."""
    a = shown.view(np.uint8).reshape(*shown.shape, 4)[..., :3].astype(float)
    b = expected.view(np.uint8).reshape(*expected.shape, 4)[..., :3].astype(float)
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize("codec", [VideoCodec.MJPEG, VideoCodec.VP8, VideoCodec.H264])
@pytest.mark.parametrize("kind", ["pan", "video"])
def test_every_level_a_codec_may_use_keeps_a_moving_photograph_above_the_target(codec, kind):
    """The target the real-client tests hold the client to, here for the encoder alone:
    at every level from the codec's lowest allowed one up, every frame decoded of a pan or
    video the size of the real-client tests' windows within PSNR_TARGET_DB of its source.
    Every third frame of the whole cycle: the hardest frames are not at its start, and
    three frames' motion at a time is harder than one."""
    width, height = 560, 360
    sources = [moving_frame(kind, n, width, height) for n in range(0, FRAMES_PER_CYCLE, 3)]
    for level in range(LOWEST_LEVEL[codec], MAX_LEVEL + 1):
        encoder = create_encoder(codec, width, height, level)
        decoder = av.CodecContext.create(DECODERS[codec], "r")
        figures = []
        for source in sources:
            for decoded in decoder.decode(av.Packet(encoder.encode(source))):
                rgb = decoded.to_ndarray(format="rgb24").astype(np.uint32)
                shown = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
                figures.append(psnr(shown, source))
        assert len(figures) == len(sources)
        assert min(figures) >= PSNR_TARGET_DB, (level, [round(f, 1) for f in figures])


def test_codec_names_are_checked():
    assert parse_codecs(["vp8", "mjpeg", "vp8"]) == (VideoCodec.VP8, VideoCodec.MJPEG)
    with pytest.raises(ValueError, match="theora"):
        parse_codecs(["theora"])
    with pytest.raises(ValueError):
        parse_codecs([])


RATE = 625_000.0  # 5 Mbit/s
ALLOWANCE = RATE * HEADROOM / TARGET_FPS


def test_frames_bigger_than_the_link_carries_lower_the_level_one_step_each():
    quality = StreamQuality()
    levels = []
    for _ in range(DEFAULT_LEVEL + 1):
        quality.frame_sent(int(ALLOWANCE * 2), RATE)
        levels.append(quality.level)
    assert levels == [*range(DEFAULT_LEVEL - 1, -1, -1), 0]  # never below 0


def test_a_codec_never_drops_below_its_lowest_level_that_holds_the_psnr_target():
    """VP8's levels under 3 measure under 35 dB: on a narrow link its frames stay at
    level 3, fewer of them go, and frames too big there make it too heavy (a leaner codec
    is due). MJPEG holds the target at every level and goes down to 0."""
    vp8 = StreamQuality()
    for _ in range(FRAMES_TOO_HEAVY):
        vp8.frame_sent(int(ALLOWANCE * 2), RATE, lowest=LOWEST_LEVEL[VideoCodec.VP8])
    assert vp8.level == LOWEST_LEVEL[VideoCodec.VP8] == 3 and vp8.too_heavy
    mjpeg = StreamQuality()
    for _ in range(DEFAULT_LEVEL + 1):
        mjpeg.frame_sent(int(ALLOWANCE * 2), RATE, lowest=LOWEST_LEVEL[VideoCodec.MJPEG])
    assert mjpeg.level == 0 and not mjpeg.too_heavy
    assert mjpeg.frame_sent(100, RATE, lowest=3) and mjpeg.level == 3  # now VP8's frames


def test_small_frames_climb_back_slowly_never_beyond_the_ceiling():
    quality = StreamQuality()
    quality.frame_sent(int(ALLOWANCE * 2), RATE)
    assert quality.level == DEFAULT_LEVEL - 1
    changes = [quality.frame_sent(int(ALLOWANCE * 0.1), RATE) for _ in range(FRAMES_TO_RAISE)]
    assert changes == [False] * (FRAMES_TO_RAISE - 1) + [True]
    for _ in range(3 * FRAMES_TO_RAISE):
        assert not quality.frame_sent(int(ALLOWANCE * 0.1), RATE)
    assert quality.level == DEFAULT_LEVEL


def test_without_a_measured_rate_quality_stays_at_its_best():
    quality = StreamQuality()
    quality.frame_sent(int(ALLOWANCE * 2), RATE)
    assert quality.frame_sent(10**7, None)  # the link is not the bottleneck
    assert quality.level == DEFAULT_LEVEL


def test_cannot_decode_is_recognised():
    assert StreamReport(0, 0xFFFFFFFF, 0).cannot_decode
    assert not StreamReport(0, 0, 0).cannot_decode


def visible(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A plane's pixels without the padding at the end of its rows."""
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    return rows[:, : plane.width]


def test_the_colour_correction_moves_each_plane_as_fitted_and_only_where_asked():
    bgrx = np.ascontiguousarray(moving_frame("video", 7, 560, 96)).view(np.uint8)
    bgrx = bgrx.reshape(96, 560, 4)
    plain, corrected = to_yuv420(bgrx, corrected=False), to_yuv420(bgrx)
    reference = av.VideoFrame.from_ndarray(bgrx, format="bgra").reformat(format="yuv420p")
    for name, mine, theirs, swscale in zip(
        "yuv", corrected.planes, plain.planes, reference.planes, strict=True
    ):
        assert np.array_equal(visible(theirs), visible(swscale))
        gain, offset = CORRECTION[name]
        expected = np.clip(np.rint(visible(theirs) * gain + offset), 0, 255)
        assert np.array_equal(visible(mine), expected), name
