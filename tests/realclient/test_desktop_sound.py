"""The x11 back end's desktop sound through a real PulseAudio to a real spice-gtk client.

A private PulseAudio (tests/pulse.py) plays files with paplay into its null sink; the back
end's capture records the sink's monitor with parec, as on a user's desktop, and spice-gtk
(the test client, keeping what its playback channel hands over) says what arrived.
"""

from __future__ import annotations

import itertools
import logging
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from spice_server import Display, PlaybackInterface
from spice_server.backends.x11.sound import DesktopSound
from spice_server.channels.base import ChannelClient
from spice_server.protocol.messages.playback import MsgPlaybackData

from harness import wait_until
from pulse import RATE, PulseAudio

pytestmark = pytest.mark.realclient

BEEP = 0.2  # seconds of a 1 kHz tone
GAP = 0.2  # seconds of digital silence between beeps
BEEPS = 5
TOLERANCE = 0.010  # seconds


@pytest.fixture
def pulse_not_started(tmp_path: Path, monkeypatch):
    server = PulseAudio(tmp_path / "pulse")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)  # parec, started by the back end, finds it
    yield server
    server.stop()


@pytest.fixture
def pulse(pulse_not_started):
    pulse_not_started.start()
    return pulse_not_started


def write_wav(path: Path, pcm: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.astype("<i2").tobytes())
    return path


def beeps(count: int) -> np.ndarray:
    """``count`` beeps of BEEP seconds, GAP seconds of exact zeros between them."""
    t = np.arange(int(BEEP * RATE)) / RATE
    beep = np.round(np.sin(2 * np.pi * 1000 * t) * 8000).astype(np.int16)
    gap = np.zeros(int(GAP * RATE), np.int16)
    mono = np.concatenate([part for _ in range(count) for part in (beep, gap)][:-1])
    return np.stack([mono, mono], axis=1)


def sounding_runs(left: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) in seconds of each stretch louder than a tenth of the peak, where
    quieter stretches of under 5 ms (the tone's own zero crossings) do not split one."""
    loud = np.flatnonzero(np.abs(left.astype(float)) > 0.1 * np.abs(left).max())
    breaks = np.flatnonzero(np.diff(loud) > RATE // 200)
    starts = [loud[0], *loud[breaks + 1]]
    ends = [*loud[breaks], loud[-1]]
    return [(start / RATE, end / RATE) for start, end in zip(starts, ends, strict=True)]


def desktop_sound_session(make_harness, make_client, **options):
    harness = make_harness(**options)
    playback = PlaybackInterface(RATE)
    for device in (Display(320, 240), playback):
        harness.call(harness.server.add_interface, device)
    client = make_client(harness.port, audio=True)
    client.wait_ready()
    client.wait_for(
        lambda e: e["event"] == "channel" and e["channel"] == "playback", what="playback channel"
    )
    capture = DesktopSound(playback)
    assert capture.start()
    return capture, client


def played(client, tmp_path: Path) -> tuple[np.ndarray, list[tuple[float, int]]]:
    path = tmp_path / "played.raw"
    client.send(cmd="playback_save", path=str(path))
    saved = client.next_event(lambda e: e["event"] == "playback_saved", what="playback saved")
    pcm = np.fromfile(path, dtype="<i2").reshape(-1, 2)
    return pcm, [(t, offset) for t, offset in saved["arrivals"]]


def arrival(arrivals: list[tuple[float, int]], second: float) -> float:
    """When the piece holding that second of the played sound reached the client."""
    offset = int(second * RATE) * 4
    return next(t for t, at in reversed(arrivals) if at <= offset)


def test_five_beeps_reach_the_client_with_their_gaps(
    pulse, make_harness, make_client, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="spice_server")
    capture, client = desktop_sound_session(make_harness, make_client)
    try:
        pulse.play(write_wav(tmp_path / "beeps.wav", beeps(BEEPS))).wait(10)
        client.wait_for(lambda e: e["event"] == "playback_start", what="playback start")
        # One run of playback for the whole file: the gaps are sent, not skipped.
        stop = client.next_event(lambda e: e["event"] == "playback_stop", what="playback stop")
        pcm, _ = played(client, tmp_path)
        runs = sounding_runs(pcm[:, 0])
        print("beeps at the client (s):", [(round(a, 4), round(b - a, 4)) for a, b in runs])
        assert len(runs) == BEEPS, runs
        for (_, end), (next_start, next_end) in itertools.pairwise(runs):
            assert abs(next_start - end - GAP) <= TOLERANCE, (end, next_start)
            assert abs(next_end - end - BEEP - GAP) <= TOLERANCE, (end, next_end)
            assert abs(next_end - next_start - BEEP) <= TOLERANCE, (next_start, next_end)
        # The null sink, idle until the file starts, loses the first 20 ms or so of it
        # (parec alone, without this server, records the same): the first beep's start.
        assert BEEP - 0.025 <= runs[0][1] - runs[0][0] <= BEEP + TOLERANCE, runs[0]
        # After the file, half a second of silence plays, then playback stops.
        after = len(pcm) / RATE - runs[-1][1]
        print(f"silence sent after the last beep: {after * 1000:.0f} ms ({stop['bytes']} bytes)")
        assert 0.45 <= after <= 0.6

        # A sound after the silence comes as soon as the first one did: latency is bounded.
        single = write_wav(tmp_path / "beep.wav", beeps(1))
        launched = time.monotonic()
        pulse.play(single).wait(10)
        client.next_event(lambda e: e["event"] == "playback_start", what="playback start again")
        client.next_event(lambda e: e["event"] == "playback_stop", what="playback stop again")
        pcm, arrivals = played(client, tmp_path)
        (start, _), *rest = sounding_runs(pcm[:, 0])
        assert not rest
        latency = arrival(arrivals, start) - launched
        # (paplay starting and connecting takes some tens of ms of it. The null sink
        # sends its first block late, so the first file's latency says nothing.)
        print(f"paplay to the client after a silence: {latency * 1000:.0f} ms")
        assert latency < 0.25
    finally:
        capture.stop()


def tone_file(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = np.round(np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    return write_wav(path, np.stack([mono, mono], axis=1))


def heard_within(client, pulse: PulseAudio, wav: Path, since: float, what: str) -> float:
    """Play ``wav``; seconds from ``since`` until the client's playback starts."""
    player = pulse.play(wav)
    try:
        started = client.next_event(lambda e: e["event"] == "playback_start", what=what)
    finally:
        player.terminate()
        player.wait(5)
    client.next_event(lambda e: e["event"] == "playback_stop", what=f"{what}: stop")
    return started["clock"] - since


def test_capture_starts_with_a_late_sound_server_and_survives_its_restart(
    pulse_not_started, make_harness, make_client, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="spice_server")
    pulse = pulse_not_started
    tone = tone_file(tmp_path / "tone.wav", 8.0)
    capture, client = desktop_sound_session(make_harness, make_client)
    try:
        time.sleep(3)  # parec fails and is retried for a while: no sound server yet
        pulse.start()
        late = heard_within(client, pulse, tone, time.monotonic(), "sound after a late start")
        pulse.restart()
        restarted = heard_within(client, pulse, tone, time.monotonic(), "sound after a restart")
    finally:
        capture.stop()
    print(f"sound at the client {late:.2f} s after a late start, {restarted:.2f} s after a restart")
    assert late < 5 and restarted < 5
    # One warning per outage, however many times parec was tried in it.
    warnings = [r.getMessage() for r in caplog.records if "parec exited" in r.getMessage()]
    assert len(warnings) == 2, warnings
    assert "parec exited at start" in warnings[0] and "parec exited later" in warnings[1]
    assert sum("capturing again" in r.getMessage() for r in caplog.records) == 2


def test_capture_follows_a_change_of_the_default_sink(
    pulse, make_harness, make_client, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="spice_server")
    tone = tone_file(tmp_path / "tone.wav", 0.5)
    capture, client = desktop_sound_session(make_harness, make_client)
    try:
        heard_within(client, pulse, tone, time.monotonic(), "sound on the first sink")
        pulse.pactl("set-default-sink", "two")
        wait_until(
            lambda: any("default sink is now two" in r.getMessage() for r in caplog.records),
            what="the change seen",
        )
        # paplay plays on the new default sink; parec records its monitor now.
        heard_within(client, pulse, tone, time.monotonic(), "sound on the new default sink")
    finally:
        capture.stop()


def test_a_long_silence_stops_playback_and_the_next_sound_keeps_its_place(
    pulse, make_harness, make_client, tmp_path, monkeypatch
):
    """Beep, 2 s of digital silence, beep: playback stops in the silence and starts again,
    and the second beep is stamped 2.2 s after the first, not when it happened to arrive
    (raw PCM, so the stamps of the
    frames sent and the samples in them give each beep's time on the server's clock)."""
    sent: list[tuple[int, bytes]] = []
    send = ChannelClient.send

    def spying_send(self, message):
        if isinstance(message, MsgPlaybackData):
            sent.append((message.time, message.data))
        send(self, message)

    monkeypatch.setattr(ChannelClient, "send", spying_send)
    capture, client = desktop_sound_session(make_harness, make_client, playback_compression=False)
    try:
        long_gap = np.concatenate([beeps(1), np.zeros((2 * RATE, 2), np.int16), beeps(1)])
        pulse.play(write_wav(tmp_path / "long-gap.wav", long_gap)).wait(10)
        for run in ("first", "second"):
            client.wait_for(lambda e: e["event"] == "playback_start", what=f"{run} start")
            client.wait_for(lambda e: e["event"] == "playback_stop", what=f"{run} stop")
    finally:
        capture.stop()
    # When each loud sample plays, by the stamps; the beeps are where they bunch up. Their
    # ends are compared: the idle null sink may clip the first 20 ms of the file.
    loud = [
        stamp + index * 1000 / RATE
        for stamp, data in sent
        for index in np.flatnonzero(np.abs(np.frombuffer(data, "<i2")[0::2]) > 800)
    ]
    ends = [a for a, b in itertools.pairwise(loud) if b - a > 1000] + loud[-1:]
    print(f"beeps end {[round(end - ends[0], 1) for end in ends]} ms apart by their stamps")
    assert len(ends) == 2, ends
    assert abs(ends[1] - ends[0] - 2200) <= TOLERANCE * 1000
