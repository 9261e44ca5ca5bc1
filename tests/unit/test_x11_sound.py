"""The x11 back end's desktop sound, with a stand-in for parec (no sound server needed).

The stand-in is a script named parec on PATH that prints PCM the test made, as the real
one prints what the default sink's monitor hears; so this checks the plumbing and the
log lines, not PulseAudio or PipeWire themselves.
"""

from __future__ import annotations

import logging
import os
import stat
import sys

import numpy as np
import pytest

from spice_server import PlaybackInterface, Server
from spice_server.backends.x11.sound import DesktopSound
from spice_server.interfaces.events import AudioData, AudioStart, AudioStop

from harness import wait_until


@pytest.fixture
def playback() -> PlaybackInterface:
    device = PlaybackInterface()
    Server(port=None).add_interface(device)  # registered, so it keeps what is pushed
    return device


def fake_parec(tmp_path, monkeypatch, script: str, name: str = "parec") -> None:
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_without_parec_the_log_says_sound_is_not_captured(playback, monkeypatch, caplog):
    monkeypatch.setenv("PATH", "")
    assert DesktopSound(playback).start() is False
    assert "desktop sound is not captured: parec was not found" in caplog.text


def pushed_bytes(event: object) -> int:
    return len(event.pcm) if isinstance(event, AudioData) else 0


def test_what_parec_hears_is_pushed_silence_included(playback, tmp_path, monkeypatch, caplog):
    """Short silences are sound; half a second of it stops playback until the next sound."""
    caplog.set_level(logging.INFO)
    rate = playback.rate

    def sound(seconds: float) -> bytes:
        samples = int(seconds * rate) * 2
        return (np.arange(samples, dtype=np.int16) % 100 + 1).astype("<i2").tobytes()

    def silence(seconds: float) -> bytes:
        return bytes(int(seconds * rate) * 4)

    heard = sound(0.2) + silence(0.2) + sound(0.1) + silence(1.0) + sound(0.3) + silence(0.1)
    (tmp_path / "sound.raw").write_bytes(heard)
    fake_parec(
        tmp_path,
        monkeypatch,
        "import sys, time\n"
        "assert '--device=@DEFAULT_MONITOR@' in sys.argv and '--rate=48000' in sys.argv\n"
        f"sys.stdout.buffer.write(open({str(tmp_path / 'sound.raw')!r}, 'rb').read())\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)",  # as a real parec, it records until ended
    )
    expected = [
        sound(0.2) + silence(0.2) + sound(0.1) + silence(0.5),
        sound(0.3) + silence(0.1),
    ]
    capture = DesktopSound(playback)
    assert capture.start()
    events: list[object] = []
    wait_until(
        lambda: (
            events.extend(playback.take_events())
            or sum(map(pushed_bytes, events)) >= sum(map(len, expected))
        ),
        what="all sound pushed",
    )
    capture.stop()  # ends parec, and the playback with it
    events.extend(playback.take_events())
    assert isinstance(events[-1], AudioStop)
    runs: list[bytes] = []
    for event in events:
        if isinstance(event, AudioStart):
            runs.append(b"")
        elif isinstance(event, AudioData):
            runs[-1] += event.pcm
    # The 0.2 s gap is kept whole; of the 1.0 s one, half a second plays, then a stop, and
    # the next start says how much silence was left out.
    starts = [event.silence for event in events if isinstance(event, AudioStart)]
    assert starts == [None, int(0.5 * rate)]
    assert runs == expected
    assert "capturing desktop sound from @DEFAULT_MONITOR@" in caplog.text


def test_a_parec_that_cannot_reach_a_sound_server_is_retried_and_logged_once(
    playback, tmp_path, monkeypatch, caplog
):
    """The sound server starts late: parec fails three times, then records."""
    caplog.set_level(logging.INFO)
    runs = tmp_path / "runs"
    fake_parec(
        tmp_path,
        monkeypatch,
        "import pathlib, sys, time\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
        "if len(runs.read_text()) <= 3:\n"
        "    sys.stderr.write('Connection failure: Connection refused'); sys.exit(1)\n"
        "sys.stdout.buffer.write(b'\\x01\\x00' * 1920); sys.stdout.flush(); time.sleep(60)",
    )
    capture = DesktopSound(playback)
    assert capture.start()
    try:
        wait_until(lambda: "capturing again" in caplog.text, what="capture resumed")
    finally:
        capture.stop()
    assert runs.read_text() == "xxxx"  # retried until it worked, and no more
    assert caplog.text.count("parec exited") == 1
    assert "at start with status 1 (Connection failure: Connection refused)" in caplog.text
    assert sum(map(pushed_bytes, playback.take_events())) == 3840


def test_the_capture_follows_a_change_of_the_default_sink(playback, tmp_path, monkeypatch, caplog):
    """A stand-in pactl reports the default sink from a file and a change of it."""
    caplog.set_level(logging.INFO)
    sink, runs = tmp_path / "sink", tmp_path / "runs"
    sink.write_text("one")
    fake_parec(
        tmp_path,
        monkeypatch,
        "import pathlib, sys, time\n"
        f"runs = pathlib.Path({str(runs)!r})\n"
        "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
        "sys.stdout.buffer.write(b'\\x01\\x00' * 1920); sys.stdout.flush(); time.sleep(60)",
        name="parec",
    )
    fake_parec(
        tmp_path,
        monkeypatch,
        "import pathlib, sys, time\n"
        f"sink = pathlib.Path({str(sink)!r})\n"
        "if sys.argv[1] == 'get-default-sink':\n"
        "    print(sink.read_text()); sys.exit(0)\n"
        "seen = sink.read_text()\n"
        f"pathlib.Path({str(tmp_path / 'subscribed')!r}).touch()\n"
        "while True:\n"
        "    time.sleep(0.05)\n"
        "    if sink.read_text() != seen:\n"
        "        seen = sink.read_text()\n"
        "        print(\"Event 'change' on server #-1\", flush=True)",
        name="pactl",
    )
    capture = DesktopSound(playback)
    assert capture.start()
    try:
        wait_until(lambda: runs.exists(), what="parec started")
        wait_until((tmp_path / "subscribed").exists, what="the sink watched")
        sink.write_text("two")
        wait_until(lambda: runs.read_text() == "xx", what="parec started again")
    finally:
        capture.stop()
    assert "the default sink is now two" in caplog.text
    assert "parec exited" not in caplog.text
