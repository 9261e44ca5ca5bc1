"""Sound both ways with the real client: playback, record, volume and mute, the shared clock.

spice-gtk runs with its audio channels open but no sound device: the test client keeps
what the playback channel hands over (decoded PCM, also for Opus) and feeds the record
channel from files, so what goes in and what comes out can be compared sample by sample.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from spice_server import Display, PlaybackInterface, RecordInterface
from spice_server.channels.base import ChannelClient
from spice_server.channels.playback import RESYNC_MS, PlaybackChannel
from spice_server.protocol.constants import (
    AudioDataMode,
    ChannelType,
    LinkError,
    MsgcMain,
    MsgcRecord,
    MsgMain,
)
from spice_server.protocol.messages.display import MsgDisplayStreamData
from spice_server.protocol.messages.main import MsgMainChannelsList, MsgMainInit
from spice_server.protocol.messages.playback import MsgPlaybackData
from spice_server.protocol.messages.record import MsgcRecordData, MsgcRecordMode

from harness import Recorder, wait_until
from rawclient import RawClient

pytestmark = pytest.mark.realclient

RATE = 48000


class RecordingRecord(RecordInterface):
    """Keeps every callback, in order."""

    def __init__(self, rate: int = RATE) -> None:
        super().__init__(rate)
        self.recorder = Recorder()

    def client_start(self, time: int) -> None:
        self.recorder.record("start", time)

    def client_samples(self, pcm: bytes, time: int) -> None:
        self.recorder.record("samples", pcm, time)

    def client_stop(self) -> None:
        self.recorder.record("stop")

    def pcm(self) -> bytes:
        return b"".join(call[1] for call in self.recorder.snapshot() if call[0] == "samples")


def tone(seconds: float, left_hz: float, right_hz: float, level: int = 8000) -> np.ndarray:
    """A stereo tone, a different frequency on each side, as int16 of shape (n, 2)."""
    t = np.arange(int(seconds * RATE)) / RATE
    sides = [np.sin(2 * np.pi * hz * t) * level for hz in (left_hz, right_hz)]
    return np.round(np.stack(sides, axis=1)).astype(np.int16)


def dominant_hz(signal: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency, interpolated between FFT bins."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    peak = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[peak - 1 : peak + 2] + 1e-9)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (peak + offset) * rate / len(signal)


def sounding(channel: np.ndarray) -> tuple[int, int]:
    """First and last sample louder than a tenth of the peak."""
    loud = np.flatnonzero(np.abs(channel.astype(float)) > 0.1 * np.abs(channel).max())
    return int(loud[0]), int(loud[-1])


def analyse(pcm: np.ndarray) -> tuple[float, float, float]:
    """Left frequency, right frequency, and how long the sound lasts (seconds)."""
    first, last = sounding(pcm[:, 0])
    body = pcm[first : last + 1].astype(float)
    return dominant_hz(body[:, 0]), dominant_hz(body[:, 1]), (last - first + 1) / RATE


def played_pcm(client, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "played.raw"
    client.send(cmd="playback_save", path=str(path))
    client.next_event(lambda e: e["event"] == "playback_saved", what="playback saved")
    return np.fromfile(path, dtype="<i2").reshape(-1, 2)


def audio_setup(make_harness, make_client, *, opus: bool = True, **server_options):
    harness = make_harness(**server_options)
    playback = PlaybackInterface(RATE)
    record = RecordingRecord()
    for device in (Display(320, 240), playback, record):
        harness.call(harness.server.add_interface, device)
    client = make_client(harness.port, audio=True, opus=opus)
    client.wait_ready()
    for channel in ("playback", "record"):
        client.wait_for(
            lambda e, c=channel: e["event"] == "channel" and e["channel"] == c,
            what=f"{channel} channel opened",
        )
    return harness, playback, record, client


def playback_modes(harness) -> list[int]:
    return harness.call(
        lambda: [c.mode for c in harness.server.channel_clients(ChannelType.PLAYBACK)]
    )


@pytest.mark.parametrize(
    ("compression", "client_opus", "mode"),
    [
        (True, True, AudioDataMode.OPUS),
        (False, True, AudioDataMode.RAW),  # the server setting turns Opus off
        (True, False, AudioDataMode.RAW),  # a client without Opus gets raw PCM
    ],
    ids=["opus", "raw-by-setting", "raw-by-client"],
)
def test_a_pushed_tone_plays_on_the_client(
    make_harness, make_client, tmp_path, compression, client_opus, mode
):
    harness, playback, _, client = audio_setup(
        make_harness, make_client, opus=client_opus, playback_compression=compression
    )
    wait_until(lambda: playback_modes(harness) == [mode], what=f"playback in {mode.name}")
    pushed = tone(0.5, 1000, 1500)
    playback.start()
    for chunk in np.array_split(pushed, 7):  # sizes that do not fall on frame boundaries
        playback.push(chunk)
    playback.stop()
    start = client.wait_for(lambda e: e["event"] == "playback_start", what="playback start")
    assert (start["format"], start["channels"], start["rate"]) == (1, 2, RATE)
    client.wait_for(lambda e: e["event"] == "playback_stop", what="playback stop")
    played = played_pcm(client, tmp_path)

    left, right, seconds = analyse(played)
    print(f"{mode.name}: {left:.2f} Hz / {right:.2f} Hz for {seconds * 1000:.1f} ms")
    assert abs(left - 1000) < 1 and abs(right - 1500) < 1
    if mode == AudioDataMode.RAW:
        assert np.array_equal(played, pushed)  # every sample, in order
    else:
        # The decoder's look-ahead delays the sound by a few ms and holds back the tail.
        assert abs(seconds - 0.5) < 0.015
        assert len(played) == len(pushed)


def test_the_clients_microphone_reaches_the_back_end_raw_and_exact(
    make_harness, make_client, tmp_path
):
    _, _, record, client = audio_setup(make_harness, make_client, opus=False)
    record.start()
    start = client.wait_for(lambda e: e["event"] == "record_start", what="record start")
    assert (start["format"], start["channels"], start["rate"]) == (1, 2, RATE)
    sent = np.random.default_rng(5).integers(-20000, 20000, (RATE, 2), dtype=np.int16)
    path = tmp_path / "mic.raw"
    sent.astype("<i2").tofile(path)
    client.send(cmd="record_send", path=str(path), time=4242)
    wait_until(lambda: len(record.pcm()) == sent.nbytes, what="all samples at the back end")
    assert record.pcm() == sent.astype("<i2").tobytes()
    calls = record.recorder.snapshot()
    assert calls[0] == ("start", 4242)
    assert {call[2] for call in calls[1:]} == {4242}

    record.stop()
    client.wait_for(lambda e: e["event"] == "record_stop", what="record stop")
    wait_until(lambda: record.recorder.snapshot()[-1] == ("stop",), what="client_stop")


def test_the_clients_microphone_reaches_the_back_end_through_opus(
    make_harness, make_client, tmp_path
):
    harness, _, record, client = audio_setup(make_harness, make_client)
    record.start()
    client.wait_for(lambda e: e["event"] == "record_start", what="record start")
    sent = tone(1.0, 700, 1100, level=12000)
    path = tmp_path / "mic.raw"
    sent.astype("<i2").tofile(path)
    client.send(cmd="record_send", path=str(path), time=1)
    wait_until(lambda: len(record.pcm()) == sent.nbytes, what="all samples at the back end")
    modes = harness.call(
        lambda: [c.mode for c in harness.server.channel_clients(ChannelType.RECORD)]
    )
    assert modes == [AudioDataMode.OPUS]

    got = np.frombuffer(record.pcm(), dtype="<i2").reshape(-1, 2).astype(float)
    # Line the decoded sound up with what was sent (the codec delays it a little), both
    # sides at once: each alone is periodic and would line up a period off.
    reference = sent[:2400].astype(float)
    lag = int(np.argmax(sum(np.correlate(got[:4800, i], reference[:, i], "valid") for i in (0, 1))))
    aligned = got[lag : lag + len(sent) - 4800]
    reference = sent[: len(aligned)].astype(float)
    noise = aligned - reference
    snr_db = 10 * np.log10((reference**2).sum() / (noise**2).sum())
    left, right = dominant_hz(aligned[:, 0]), dominant_hz(aligned[:, 1])
    print(f"Opus record: lag {lag} samples, SNR {snr_db:.1f} dB, {left:.2f} / {right:.2f} Hz")
    assert lag < 1000
    assert snr_db > 20
    assert abs(left - 700) < 1 and abs(right - 1100) < 1


def test_volume_and_mute_reach_the_client(make_harness, make_client):
    harness = make_harness()
    playback, record = PlaybackInterface(), RecordingRecord()
    playback.set_volume([30000, 20000])  # known before any client: sent at connect
    for device in (Display(320, 240), playback, record):
        harness.call(harness.server.add_interface, device)
    client = make_client(harness.port, audio=True)
    client.wait_ready()
    client.wait_for(
        lambda e: e["event"] == "playback_volume" and e["volume"] == [30000, 20000],
        what="playback volume at connect",
    )
    playback.set_volume([65535, 0])
    playback.set_mute(True)
    record.set_volume([12345, 54321])
    record.set_mute(True)
    client.wait_for(
        lambda e: e["event"] == "playback_volume" and e["volume"] == [65535, 0], what="volume"
    )
    client.wait_for(lambda e: e["event"] == "playback_mute" and e["mute"], what="mute")
    client.wait_for(
        lambda e: e["event"] == "record_volume" and e["volume"] == [12345, 54321],
        what="record volume",
    )
    client.wait_for(lambda e: e["event"] == "record_mute" and e["mute"], what="record mute")
    playback.set_mute(False)
    client.next_event(lambda e: e["event"] == "playback_mute" and not e["mute"], what="unmute")


def test_audio_devices_come_and_go_while_a_client_is_connected(make_harness, make_client):
    harness = make_harness()
    harness.call(harness.server.add_interface, Display(320, 240))
    client = make_client(harness.port, audio=True)
    client.wait_ready()
    playback = PlaybackInterface()
    harness.call(harness.server.add_interface, playback)
    client.wait_for(
        lambda e: e["event"] == "channel" and e["channel"] == "playback" and e["state"] == "opened",
        what="playback channel announced and opened",
    )
    harness.call(harness.server.remove_interface, playback)
    client.wait_for(
        lambda e: e["event"] == "channel" and e["channel"] == "playback" and e["state"] != "opened",
        what="playback channel closed",
    )
    assert harness.call(harness.server.channel_list) == [(2, 0), (3, 0), (4, 0)]


# -- one clock for sound and pictures -------------------------------------------------------


def photo(seed: int, width: int = 320, height: int = 240) -> np.ndarray:
    """Grainy colour: video to the stream detector."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = (128 + 100 * np.sin(x / 37 + seed)).astype(np.int32)
    g = (128 + 100 * np.cos(y / 23 - seed)).astype(np.int32)
    grain = rng.integers(-12, 13, (height, width, 3))
    rgb = np.clip(np.stack([r, g, (x + y + seed * 9) % 256], -1) + grain, 0, 255)
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def signed_ms(a: int, b: int) -> int:
    """a - b on the wrapping u32 millisecond clock."""
    diff = (a - b) & 0xFFFFFFFF
    return diff - (1 << 32) if diff >= 1 << 31 else diff


def spy_on_stamps(monkeypatch) -> list[tuple[str, int, int]]:
    """(kind, stamp, server clock when sent) of every audio frame and video frame sent."""
    seen: list[tuple[str, int, int]] = []
    send = ChannelClient.send

    def spying_send(self, message):
        if isinstance(message, MsgPlaybackData):
            seen.append(("audio", message.time, self.clock.mm_time()))
        elif isinstance(message, MsgDisplayStreamData):
            seen.append(("video", message.mm_time, self.clock.mm_time()))
        send(self, message)

    monkeypatch.setattr(ChannelClient, "send", spying_send)
    return seen


def play_with_video(harness, playback, display, client, seconds: float) -> tuple[int, int]:
    """Sound in real time and video at 30 fps together; (video frames, client redraws)."""
    stop = threading.Event()

    def sound_card() -> None:
        chunk, period = tone(0.02, 440, 440), 0.02
        started, pushed = time.monotonic(), 0
        while not stop.is_set():
            playback.push(chunk)
            pushed += 1
            time.sleep(max(0.0, started + pushed * period - time.monotonic()))

    card = threading.Thread(target=sound_card, daemon=True)
    card.start()
    try:
        for seed in range(int(seconds * 30)):
            if seed == 45:  # the stream runs by now: count from here
                client.send(cmd="state")
                before = client.next_event(lambda e: e["event"] == "state")["invalidates"]
                sent_before = stream_frames(harness)
            display.update(photo(seed), 0, 0, diff=False)
            time.sleep(1 / 30)
        time.sleep(0.6)  # let the client's queue of future frames drain
        client.send(cmd="state")
        after = client.next_event(lambda e: e["event"] == "state")["invalidates"]
    finally:
        stop.set()
        card.join(5)
    return stream_frames(harness) - sent_before, after - before


def stream_frames(harness) -> int:
    return harness.call(
        lambda: sum(c.images["frame"] for c in harness.server.channel_clients(ChannelType.DISPLAY))
    )


@pytest.mark.parametrize("skew_ms", [0, 1000], ids=["shared-clock", "control-audio-1s-ahead"])
def test_audio_and_video_share_the_multimedia_clock(
    make_harness, make_client, monkeypatch, skew_ms
):
    """The client sets its media clock from the audio stamps; video must then be on time.

    The test client acts as a sound device buffering the LATENCY the server asks for, so
    spice-gtk's clock becomes "last audio stamp minus that latency", as with speakers. If
    the stamps of sound and pictures were on different clocks, spice-gtk would drop the
    video frames as late (or hold them): the control run skews the audio stamps by a
    second and shows the client dropping them, so the first run's pass means something.
    The stream is MJPEG, whose decoder in spice-gtk drops late frames outright (its
    GStreamer decoders for H.264 and VP8 still show them, only late).
    """
    seen = spy_on_stamps(monkeypatch)
    if skew_ms:
        stamp = PlaybackChannel._stamp
        monkeypatch.setattr(
            PlaybackChannel, "_stamp", lambda self: (stamp(self) + skew_ms) & 0xFFFFFFFF
        )
    harness = make_harness(video_codecs=("mjpeg",))
    playback, display = PlaybackInterface(RATE), Display(320, 240)
    for device in (display, playback):
        harness.call(harness.server.add_interface, device)
    client = make_client(harness.port, audio=True)
    client.wait_ready()

    frames, redraws = play_with_video(harness, playback, display, client, seconds=4)
    latency = client.wait_for(lambda e: e["event"] == "playback_latency", what="latency")["ms"]
    audio = [signed_ms(stamp, sent) for kind, stamp, sent in seen if kind == "audio"]
    video = [signed_ms(stamp, sent) for kind, stamp, sent in seen if kind == "video"]
    print(
        f"skew {skew_ms} ms: audio stamp - server clock {min(audio)}..{max(audio)} ms, "
        f"video {min(video)}..{max(video)} ms, latency {latency} ms; "
        f"{redraws} client redraws for {frames} video frames"
    )
    assert frames >= 30
    if skew_ms:
        # The client's clock follows the skewed sound, a second ahead of ours: frames
        # stamped with our clock would all come late. The stream reports tell where the
        # client's clock stands, and frames are stamped by it, so they still show.
        assert np.median(video) > 0.5 * skew_ms, np.median(video)
        assert redraws >= 0.8 * frames, (redraws, frames)
        return
    # Sound is stamped with the server's clock as it plays, and the client's clock follows
    # it; frames are stamped with the time their pixels were read, so they show with the
    # sound of that moment, as late as the sound's buffering and no later.
    assert all(-RESYNC_MS <= offset <= 60 for offset in audio), (min(audio), max(audio))
    # (Stamped when read, measured when sent: the encoding lies between.)
    assert all(-40 <= offset <= 60 for offset in video), (min(video), max(video))
    assert redraws >= 0.8 * frames, (redraws, frames)


# -- bad input ----------------------------------------------------------------------------


@pytest.fixture
def audio_session(make_harness, make_client, caplog, tmp_path):
    """A real client with sound; whatever a case does, its sound still flows afterwards."""
    caplog.set_level(logging.INFO, logger="spice_server")
    harness, playback, record, client = audio_setup(make_harness, make_client)
    record.start()
    client.wait_for(lambda e: e["event"] == "record_start", what="record start")
    yield harness, client
    playback.push(tone(0.1, 500, 500))
    playback.stop()
    stop = client.next_event(lambda e: e["event"] == "playback_stop", what="playback after")
    assert stop["bytes"] == 0.1 * RATE * 4
    path = tmp_path / "mic.raw"
    tone(0.1, 500, 500).tofile(path)
    client.send(cmd="record_send", path=str(path))
    wait_until(lambda: record.pcm(), what="the microphone still reaching the back end")


def logged(caplog, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def raw_session(harness) -> tuple[RawClient, int]:
    main = RawClient(harness.port)
    assert main.link() == LinkError.OK
    init = MsgMainInit.unpack(main.read_until(MsgMain.INIT).body)
    return main, init.session_id


OPUS_MODE = MsgcRecordMode(0, AudioDataMode.OPUS).pack()
BAD_AUDIO = {
    "celt-mode": (ChannelType.RECORD, [], MsgcRecordMode(0, 2), "unsupported data mode 2"),
    "unknown-mode": (ChannelType.RECORD, [], MsgcRecordMode(0, 77), "unsupported data mode 77"),
    "short-mode": (ChannelType.RECORD, [], b"\x00\x00", "MsgcRecordMode: body of 2 bytes"),
    "odd-raw-frame": (
        ChannelType.RECORD,
        [],
        MsgcRecordData(0, b"\x01\x02\x03"),
        "raw frame of 3 bytes is not whole stereo samples",
    ),
    "empty-opus-packet": (
        ChannelType.RECORD,
        [OPUS_MODE],
        MsgcRecordData(0, b""),
        "an Opus packet of 0 bytes",
    ),
    "undecodable-opus-packet": (
        ChannelType.RECORD,
        [OPUS_MODE],
        MsgcRecordData(0, b"\xff\xff\xff"),
        "the Opus packet does not decode",
    ),
    "oversized-frame": (
        ChannelType.RECORD,
        [],
        MsgcRecordData(0, bytes(64 * 1024)),
        "exceeds the limit",
    ),
    "record-message-on-playback": (
        ChannelType.PLAYBACK,
        [],
        MsgcRecordData(0, bytes(1920)),
        "unknown message type 101",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_AUDIO))
def test_bad_audio_input_closes_only_that_channel(audio_session, caplog, case):
    harness, client = audio_session
    channel_type, preamble, bad, reason = BAD_AUDIO[case]
    main, session_id = raw_session(harness)
    audio = RawClient(harness.port)
    assert audio.link(channel_type, 0, session_id) == LinkError.OK
    if channel_type == ChannelType.RECORD:  # the newest record channel captures
        client.next_event(lambda e: e["event"] == "record_stop", what="real client stopped")
    for body in preamble:
        audio.send_message(MsgcRecord.MODE, body)
    if isinstance(bad, bytes):
        audio.send_message(MsgcRecord.MODE, bad)
    else:
        audio.send_message(bad.TYPE, bad.pack())
    assert audio.is_closed_by_server()
    wait_until(lambda: logged(caplog, reason), what=f"logged reason {reason!r}")
    # The rest of that session is untouched: its main channel still answers.
    main.send_message(MsgcMain.ATTACH_CHANNELS)
    channels = MsgMainChannelsList.unpack(main.read_until(MsgMain.CHANNELS_LIST).body)
    assert (ChannelType.PLAYBACK, 0) in channels.channels
    if channel_type == ChannelType.RECORD:  # capture went back to the real client
        client.next_event(lambda e: e["event"] == "record_start", what="real client restarted")
