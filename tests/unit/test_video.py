"""Stream encoders and the adaptation to stream reports, without a client."""

from __future__ import annotations

import av
import numpy as np
import pytest

from spice_server.display.adaptation import (
    BASE_MARGIN_MS,
    FIRST_PACED_INTERVAL_S,
    StreamAdaptation,
    StreamReport,
)
from spice_server.display.video import DEFAULT_LEVEL, create_encoder, parse_codecs
from spice_server.protocol.constants import VideoCodec

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


def test_codec_names_are_checked():
    assert parse_codecs(["vp8", "mjpeg", "vp8"]) == (VideoCodec.VP8, VideoCodec.MJPEG)
    with pytest.raises(ValueError, match="theora"):
        parse_codecs(["theora"])
    with pytest.raises(ValueError):
        parse_codecs([])


def test_trouble_lowers_the_level_then_the_frame_rate_and_adds_margin():
    adaptation = StreamAdaptation()
    late = StreamReport(frames=20, drops=5, last_frame_delay_ms=-10)
    levels = []
    for _ in range(DEFAULT_LEVEL):
        assert adaptation.report(late)  # a new encoder is due
        levels.append(adaptation.level)
    assert levels == list(range(DEFAULT_LEVEL - 1, -1, -1))
    assert adaptation.frame_interval_s == 0
    assert not adaptation.report(late)  # the lowest level: fewer frames instead
    assert adaptation.frame_interval_s == FIRST_PACED_INTERVAL_S
    assert adaptation.margin_ms > BASE_MARGIN_MS


def test_good_reports_recover_slowly_and_never_beyond_the_start():
    adaptation = StreamAdaptation()
    adaptation.report(StreamReport(20, 0, -5))
    assert adaptation.level == DEFAULT_LEVEL - 1
    good = StreamReport(frames=20, drops=0, last_frame_delay_ms=30)
    assert [adaptation.report(good) for _ in range(3)] == [False, False, True]
    assert adaptation.level == DEFAULT_LEVEL
    for _ in range(9):
        assert not adaptation.report(good)
    assert adaptation.level == DEFAULT_LEVEL


def test_cannot_decode_is_recognised():
    assert StreamReport(0, 0xFFFFFFFF, 0).cannot_decode
    assert not StreamReport(0, 0, 0).cannot_decode
