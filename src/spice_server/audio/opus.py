"""Opus as SPICE uses it: bare packets, one 480-sample stereo frame each, 48000 Hz.

libopus comes with PyAV's wheels. There is no container: each DATA message carries one
packet, so the encoder and decoder are driven packet by packet.
"""

from __future__ import annotations

import av
import numpy as np

from . import CHANNELS, FRAME_BYTES, FRAME_SAMPLES, OPUS_RATE

MAX_PACKET_BYTES = 1276 * 3  # the largest legal Opus packet for one frame (RFC 6716)


class OpusError(ValueError):
    """A packet that does not decode, or PCM that is not one frame."""


class OpusEncoder:
    """Encodes one 1920-byte PCM frame at a time into one Opus packet."""

    def __init__(self, bitrate: int = 96_000) -> None:
        context = av.CodecContext.create("libopus", "w")
        context.sample_rate = OPUS_RATE
        context.layout = "stereo"
        context.format = "s16"
        context.bit_rate = bitrate
        # "audio" is libspice's application mode; 10 ms is the duration of one SPICE frame.
        context.options = {"application": "audio", "frame_duration": "10"}
        context.open()
        self._context = context
        self._pts = 0

    def encode(self, pcm: bytes) -> bytes:
        if len(pcm) != FRAME_BYTES:
            raise OpusError(f"an Opus frame is {FRAME_BYTES} bytes of PCM, not {len(pcm)}")
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, FRAME_SAMPLES * CHANNELS)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        frame.sample_rate = OPUS_RATE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        return b"".join(bytes(packet) for packet in self._context.encode(frame))


class OpusDecoder:
    """Decodes one packet at a time into interleaved S16 stereo PCM."""

    def __init__(self) -> None:
        context = av.CodecContext.create("libopus", "r")
        context.sample_rate = OPUS_RATE
        context.layout = "stereo"
        context.open()
        self._context = context

    def decode(self, packet: bytes) -> bytes:
        # An empty packet would reach the codec as "end of stream" and end the decoder.
        if not 0 < len(packet) <= MAX_PACKET_BYTES:
            raise OpusError(f"an Opus packet of {len(packet)} bytes")
        try:
            frames = self._context.decode(av.Packet(packet))
        except av.error.FFmpegError as exc:
            raise OpusError(f"the Opus packet does not decode: {exc}") from exc
        return b"".join(_s16(frame) for frame in frames)


def _s16(frame: av.AudioFrame) -> bytes:
    """Interleaved little-endian S16 from what the decoder gave (packed S16, or float)."""
    samples = frame.to_ndarray()
    if frame.format.is_planar:
        samples = samples.T
    if samples.dtype.kind == "f":
        samples = np.clip(np.round(samples * 32767), -32768, 32767)
    return np.ascontiguousarray(samples, dtype="<i2").tobytes()
