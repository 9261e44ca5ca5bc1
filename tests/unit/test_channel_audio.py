"""Playback and record channels against a fake context: start, stop, latency, stamps, modes."""

from __future__ import annotations

import pytest

from spice_server.audio import FRAME_BYTES
from spice_server.audio.opus import OpusEncoder
from spice_server.channels.main import MM_TIME_DELTA_MS
from spice_server.channels.playback import PlaybackChannel
from spice_server.channels.record import RecordChannel
from spice_server.interfaces.playback import PlaybackInterface
from spice_server.interfaces.record import RecordInterface
from spice_server.protocol.constants import AudioDataMode, PlaybackCap, RecordCap
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.messages.playback import (
    MsgPlaybackData,
    MsgPlaybackLatency,
    MsgPlaybackMode,
    MsgPlaybackMute,
    MsgPlaybackStart,
    MsgPlaybackStop,
    MsgPlaybackVolume,
)
from spice_server.protocol.messages.record import (
    MsgcRecordData,
    MsgcRecordMode,
    MsgcRecordStartMark,
    MsgRecordStart,
    MsgRecordStop,
)

from fakes import FakeContext, link

PLAYBACK_CAPS = frozenset({PlaybackCap.VOLUME, PlaybackCap.LATENCY, PlaybackCap.OPUS})


def registered(device):
    device._notify = lambda instance, event: None  # as if added to a server
    return device


def playback(caps=PLAYBACK_CAPS, **settings):
    context = FakeContext(**settings)
    device = registered(PlaybackInterface(48000))
    channel = PlaybackChannel(context, device)
    client, transport = link(channel, caps=caps)
    return context, device, channel, client, transport


def test_a_client_gets_its_mode_and_start_with_latency_after_it() -> None:
    context, device, channel, _client, transport = playback()
    (mode,) = transport.take()
    assert mode == MsgPlaybackMode(context.clock.mm_time(), AudioDataMode.OPUS)
    device.set_volume([100, 200])
    device.start()
    channel.distribute()
    assert transport.take() == [
        MsgPlaybackVolume((100, 200)),
        MsgPlaybackStart(2, 1, 48000, context.clock.mm_time()),
        MsgPlaybackLatency(MM_TIME_DELTA_MS),  # spice-gtk resets its latency at each START
    ]
    device.set_mute(True)
    device.stop()
    channel.distribute()
    assert transport.take() == [MsgPlaybackMute(1), MsgPlaybackStop()]


def test_raw_pcm_when_compression_is_off_and_frames_are_stamped_10_ms_apart() -> None:
    context, device, channel, _client, transport = playback(playback_compression=False)
    assert transport.take_of(MsgPlaybackMode)[0].mode == AudioDataMode.RAW
    device.push(bytes(3 * FRAME_BYTES))
    channel.distribute()
    frames = transport.take_of(MsgPlaybackData)
    start = context.clock.mm_time()
    assert [f.time for f in frames] == [(start + 10 * i) & 0xFFFFFFFF for i in range(3)]
    assert all(f.data == bytes(FRAME_BYTES) for f in frames)


@pytest.mark.parametrize(
    ("silence", "arrives_after", "resumes_after"),
    [
        (48000, 1.03, 1000),  # the back end's count of the silence places the new run
        (48000, 0.97, 1000),  # also when it is read a little early
        (48000, 1.2, 1180),  # off by more than RESYNC_MS: the clocks drifted, go by now
        (None, 1.03, 1010),  # nothing known about the silence: stamped when it arrives
    ],
)
def test_a_run_after_a_silence_is_stamped_the_silence_after_the_last(
    silence, arrives_after, resumes_after
) -> None:
    """Two runs of sound, 20 ms each; the second comes ``arrives_after`` seconds after the
    first began (from now: that less the first's 20 ms after its end)."""
    context, device, channel, _client, transport = playback(playback_compression=False)
    transport.take()
    device.push(bytes(2 * FRAME_BYTES))
    device.stop()
    channel.distribute()
    first = transport.take_of(MsgPlaybackData)
    end = (first[-1].time + 10) & 0xFFFFFFFF
    context.clock.time += arrives_after  # and then the next sound comes
    device.start(silence)
    device.push(bytes(2 * FRAME_BYTES))
    channel.distribute()
    sent = transport.take()
    (start,) = [m for m in sent if isinstance(m, MsgPlaybackStart)]
    second = [m for m in sent if isinstance(m, MsgPlaybackData)]
    assert start.time == second[0].time
    assert (second[0].time - end) & 0xFFFFFFFF == resumes_after
    assert (second[1].time - second[0].time) & 0xFFFFFFFF == 10


def test_opus_frames_for_clients_that_decode_it() -> None:
    _context, device, channel, _client, transport = playback()
    device.push(bytes(2 * FRAME_BYTES))
    channel.distribute()
    frames = transport.take_of(MsgPlaybackData)
    assert len(frames) == 2 and all(0 < len(f.data) < FRAME_BYTES // 4 for f in frames)


def test_a_full_connection_loses_audio_instead_of_queueing_it() -> None:
    _context, device, channel, client, transport = playback()
    transport.take()
    transport.pending = 10 * 1024 * 1024
    device.push(bytes(4 * FRAME_BYTES))
    channel.distribute()
    assert transport.take_of(MsgPlaybackData) == []
    assert client.frames_dropped == 4


class Microphone(RecordInterface):
    def __init__(self) -> None:
        super().__init__(48000)
        self.calls: list[tuple] = []

    def client_start(self, time: int) -> None:
        self.calls.append(("start", time))

    def client_samples(self, pcm: bytes, time: int) -> None:
        self.calls.append(("samples", len(pcm), time))

    def client_stop(self) -> None:
        self.calls.append(("stop",))


def record(caps=frozenset({RecordCap.OPUS, RecordCap.VOLUME})):
    context = FakeContext()
    device = registered(Microphone())
    channel = RecordChannel(context, device)
    client, transport = link(channel, caps=caps)
    return context, device, channel, client, transport


def test_the_newest_client_captures_from_start_mark_to_stop() -> None:
    _context, device, channel, _client, transport = record()
    device.start()
    channel.distribute()
    assert transport.take() == [MsgRecordStart(2, 1, 48000)]
    transport.feed(MsgcRecordMode(5, AudioDataMode.RAW))
    transport.feed(MsgcRecordStartMark(7))
    transport.feed(MsgcRecordData(8, bytes(FRAME_BYTES)))
    device.stop()
    channel.distribute()
    assert transport.take() == [MsgRecordStop()]
    assert device.calls == [("start", 7), ("samples", FRAME_BYTES, 8), ("stop",)]
    _second, second = link(channel, caps=frozenset({RecordCap.OPUS}))
    device.start()
    channel.distribute()
    assert second.take_of(MsgRecordStart) and transport.take() == []


def test_opus_from_the_client_arrives_decoded() -> None:
    _context, device, channel, _client, transport = record()
    device.start()
    channel.distribute()
    transport.feed(MsgcRecordMode(0, AudioDataMode.OPUS))
    transport.feed(MsgcRecordStartMark(0))
    transport.feed(MsgcRecordData(1, OpusEncoder().encode(bytes(FRAME_BYTES))))
    assert device.calls[-1] == ("samples", FRAME_BYTES, 1)


def test_mode_switches_reuse_one_opus_decoder() -> None:
    """Each decoder is a libopus context: a client switching modes must not make one per
    message."""
    _context, device, channel, client, transport = record()
    device.start()
    channel.distribute()
    for i in range(200):
        transport.feed(MsgcRecordMode(i, AudioDataMode.OPUS if i % 2 == 0 else AudioDataMode.RAW))
    transport.feed(MsgcRecordMode(0, AudioDataMode.OPUS))
    decoder = client._decoder
    transport.feed(MsgcRecordMode(1, AudioDataMode.RAW))
    transport.feed(MsgcRecordMode(2, AudioDataMode.OPUS))
    assert client._decoder is decoder is not None
    transport.feed(MsgcRecordStartMark(0))
    transport.feed(MsgcRecordData(1, OpusEncoder().encode(bytes(FRAME_BYTES))))
    assert device.calls[-1] == ("samples", FRAME_BYTES, 1)


def test_bad_record_input_is_a_protocol_error() -> None:
    _context, _device, _channel, _client, transport = record(caps=frozenset())
    with pytest.raises(RemoteProtocolError, match="unsupported data mode 9"):
        transport.feed(MsgcRecordMode(0, 9))
    with pytest.raises(RemoteProtocolError, match="not whole stereo samples"):
        transport.feed(MsgcRecordData(0, bytes(3)))
