"""Sound without sockets: messages byte by byte, frames, Opus, the interfaces, the stamps."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from spice_server import InterfaceError, PlaybackInterface, RecordInterface, Server
from spice_server.audio import FRAME_BYTES
from spice_server.audio.frames import FrameSplitter
from spice_server.audio.opus import OpusDecoder, OpusEncoder, OpusError
from spice_server.channels.playback import PlaybackChannel
from spice_server.interfaces.events import AudioData, AudioMute, AudioStart, AudioStop, AudioVolume
from spice_server.protocol.constants import ChannelType
from spice_server.protocol.errors import LocalProtocolError, RemoteProtocolError
from spice_server.protocol.framing import Message
from spice_server.protocol.messages import parse_client_message
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
    MsgRecordMute,
    MsgRecordStart,
    MsgRecordStop,
    MsgRecordVolume,
)

from fakes import FakeContext


class Microphone(RecordInterface):
    def client_samples(self, pcm: bytes, time: int) -> None:
        pass


# -- messages --------------------------------------------------------------------------------

SERVER_MESSAGES = [
    (MsgPlaybackData(7, b"\x01\x02\x03\x04"), 101, struct.pack("<I", 7) + b"\x01\x02\x03\x04"),
    (MsgPlaybackMode(9, 3), 102, struct.pack("<IH", 9, 3)),
    (MsgPlaybackStart(2, 1, 48000, 5), 103, struct.pack("<IHII", 2, 1, 48000, 5)),
    (MsgPlaybackStop(), 104, b""),
    (MsgPlaybackVolume((100, 65535)), 105, struct.pack("<BHH", 2, 100, 65535)),
    (MsgPlaybackMute(1), 106, b"\x01"),
    (MsgPlaybackLatency(400), 107, struct.pack("<I", 400)),
    (MsgRecordStart(2, 1, 44100), 101, struct.pack("<IHI", 2, 1, 44100)),
    (MsgRecordStop(), 102, b""),
    (MsgRecordVolume((1,)), 103, struct.pack("<BH", 1, 1)),
    (MsgRecordMute(0), 104, b"\x00"),
]


@pytest.mark.parametrize(
    ("message", "msg_type", "body"),
    SERVER_MESSAGES,
    ids=[type(m[0]).__name__ for m in SERVER_MESSAGES],
)
def test_server_audio_message_bytes(message, msg_type, body) -> None:
    assert msg_type == message.TYPE
    assert message.pack() == body
    assert type(message).unpack(body) == message


def test_an_empty_volume_is_never_built() -> None:
    # spice-gtk refuses a VOLUME with no channels; 256 do not fit the u8 count.
    with pytest.raises(LocalProtocolError):
        MsgPlaybackVolume(()).pack()
    with pytest.raises(LocalProtocolError):
        MsgRecordVolume((0,) * 256).pack()
    with pytest.raises(RemoteProtocolError, match="needs 5"):
        MsgPlaybackVolume.unpack(struct.pack("<BH", 2, 1))


@pytest.mark.parametrize(
    ("msg_type", "body", "expected"),
    [
        (101, struct.pack("<I", 3) + b"pcm!", MsgcRecordData(3, b"pcm!")),
        (101, struct.pack("<I", 3), MsgcRecordData(3, b"")),
        (102, struct.pack("<IH", 1, 3), MsgcRecordMode(1, 3)),
        (102, struct.pack("<IH", 1, 1) + b"x", MsgcRecordMode(1, 1, b"x")),
        (103, struct.pack("<I", 99), MsgcRecordStartMark(99)),
    ],
)
def test_record_client_messages(msg_type, body, expected) -> None:
    assert parse_client_message(ChannelType.RECORD, Message(msg_type, body)) == expected
    assert expected.pack() == body


@pytest.mark.parametrize(("msg_type", "size"), [(101, 3), (102, 5), (103, 2)])
def test_short_record_messages_are_errors(msg_type, size) -> None:
    with pytest.raises(RemoteProtocolError, match="needs"):
        parse_client_message(ChannelType.RECORD, Message(msg_type, bytes(size)))


def test_the_playback_channel_takes_only_common_messages() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown message type 101"):
        parse_client_message(ChannelType.PLAYBACK, Message(101, bytes(8)))


# -- frames and Opus -----------------------------------------------------------------------


def test_frames_are_cut_whole_and_the_tail_is_padded_with_silence() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(b"\x01" * 1000) == []
    frames = splitter.feed(b"\x02" * 3000)
    assert [len(f) for f in frames] == [FRAME_BYTES, FRAME_BYTES]
    assert frames[0] == b"\x01" * 1000 + b"\x02" * 920
    tail = splitter.flush()
    assert tail == b"\x02" * 160 + bytes(FRAME_BYTES - 160)
    assert splitter.flush() is None


def test_opus_round_trip_keeps_a_tone() -> None:
    t = np.arange(48000) / 48000
    pcm = np.round(np.sin(2 * np.pi * 440 * t) * 10000).astype("<i2").repeat(2)
    encoder, decoder = OpusEncoder(), OpusDecoder()
    out = b"".join(
        decoder.decode(encoder.encode(pcm[i : i + 960].tobytes())) for i in range(0, len(pcm), 960)
    )
    decoded = np.frombuffer(out, dtype="<i2")
    assert len(decoded) == len(pcm)
    left = decoded[0::2][4800:].astype(float)
    spectrum = np.abs(np.fft.rfft(left))
    assert abs(np.argmax(spectrum) * 48000 / len(left) - 440) < 2
    assert 0.8 < np.sqrt((left**2).mean()) / (10000 / np.sqrt(2)) < 1.2


def test_opus_refuses_what_it_cannot_take() -> None:
    with pytest.raises(OpusError, match="1920 bytes"):
        OpusEncoder().encode(bytes(100))
    decoder = OpusDecoder()
    with pytest.raises(OpusError, match="0 bytes"):
        decoder.decode(b"")
    with pytest.raises(OpusError, match="does not decode"):
        decoder.decode(b"\xff\xff\xff")
    with pytest.raises(OpusError, match="bytes"):
        decoder.decode(bytes(5000))


# -- interfaces ------------------------------------------------------------------------------


def test_rates_samples_and_volumes_are_checked() -> None:
    with pytest.raises(ValueError, match="rate 12345"):
        PlaybackInterface(12345)
    playback = PlaybackInterface(44100)
    with pytest.raises(ValueError, match="whole stereo"):
        playback.push(bytes(6))
    with pytest.raises(ValueError, match="shape"):
        playback.push(np.zeros((10, 3), dtype=np.int16))
    with pytest.raises(ValueError, match="int16"):
        playback.push(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="volume"):
        playback.set_volume([])
    with pytest.raises(ValueError, match="volume"):
        playback.set_volume([70000, 0])


def test_events_keep_their_order_and_pushing_starts_playback() -> None:
    server = Server(port=None)
    playback = PlaybackInterface()
    server.add_interface(playback)
    playback.push(bytes(8))
    playback.set_volume([1, 2])
    playback.stop()
    playback.stop()  # nothing new
    playback.start()
    playback.set_mute(True)
    assert playback.take_events() == [
        AudioStart(),
        AudioData(bytes(8)),
        AudioVolume((1, 2)),
        AudioStop(),
        AudioStart(),
        AudioMute(True),
    ]
    assert playback.active and playback.volume == (1, 2) and playback.mute is True


def test_nothing_is_kept_unregistered_and_at_most_two_seconds_queued() -> None:
    playback = PlaybackInterface(8000)
    playback.push(bytes(4000))
    assert playback.take_events() == []  # not registered: dropped
    Server(port=None).add_interface(playback)
    second = bytes(8000 * 4)
    for _ in range(3):
        playback.push(second)
    events = playback.take_events()
    assert sum(len(e.pcm) for e in events if isinstance(e, AudioData)) == 2 * len(second)
    assert playback.dropped_bytes == len(second)


def test_one_playback_and_one_record_device_each() -> None:
    server = Server(port=None)
    playback, record = PlaybackInterface(), Microphone()
    server.add_interface(playback)
    server.add_interface(record)
    with pytest.raises(InterfaceError, match="a playback is already registered"):
        server.add_interface(PlaybackInterface())
    server.remove_interface(record)
    with pytest.raises(InterfaceError, match="not registered"):
        server.remove_interface(record)
    server.add_interface(Microphone())


# -- stamps on the media clock -----------------------------------------------------------------


def test_frames_are_stamped_as_they_will_play_and_resynchronise_after_a_pause() -> None:
    context = FakeContext()
    context.clock.time = 0xFFFFFFF0 / 1000  # the mm clock is about to wrap
    channel = PlaybackChannel(context, PlaybackInterface(48000))
    stamps = [channel._stamp() for _ in range(5)]  # pushed at once: 10 ms apart
    assert stamps == [(0xFFFFFFF0 + 10 * i) & 0xFFFFFFFF for i in range(5)]
    context.core.advance(0.060)  # real time went on a little slower than the frames
    assert channel._stamp() == (0xFFFFFFF0 + 50) & 0xFFFFFFFF
    context.core.advance(1.0)  # the back end fell silent for a second: start again from now
    assert channel._stamp() == context.clock.mm_time()
