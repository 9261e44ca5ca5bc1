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
from spice_server.interfaces.events import AudioData, AudioStart

from harness import wait_until


@pytest.fixture
def playback() -> PlaybackInterface:
    device = PlaybackInterface()
    Server(port=None).add_interface(device)  # registered, so it keeps what is pushed
    return device


def fake_parec(tmp_path, monkeypatch, script: str) -> None:
    path = tmp_path / "parec"
    path.write_text(f"#!{sys.executable}\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_without_parec_the_log_says_sound_is_not_captured(playback, monkeypatch, caplog):
    monkeypatch.setenv("PATH", "")
    assert DesktopSound(playback).start() is False
    assert "desktop sound is not captured: parec was not found" in caplog.text


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
        "import sys\n"
        "assert '--device=@DEFAULT_MONITOR@' in sys.argv and '--rate=48000' in sys.argv\n"
        f"sys.stdout.buffer.write(open({str(tmp_path / 'sound.raw')!r}, 'rb').read())",
    )
    capture = DesktopSound(playback)
    assert capture.start()
    wait_until(lambda: not playback.active and "parec exited" in caplog.text, what="parec done")
    capture.stop()
    runs: list[bytes] = []
    for event in playback.take_events():
        if isinstance(event, AudioStart):
            runs.append(b"")
        elif isinstance(event, AudioData):
            runs[-1] += event.pcm
    # The 0.2 s gap is kept whole; of the 1.0 s one, half a second plays, then a stop.
    assert runs == [
        sound(0.2) + silence(0.2) + sound(0.1) + silence(0.5),
        sound(0.3) + silence(0.1),
    ]
    assert "capturing desktop sound from @DEFAULT_MONITOR@" in caplog.text


def test_a_parec_that_cannot_reach_a_sound_server_is_reported(
    playback, tmp_path, monkeypatch, caplog
):
    fake_parec(
        tmp_path,
        monkeypatch,
        "import sys; sys.stderr.write('Connection failure: Connection refused'); sys.exit(1)",
    )
    assert DesktopSound(playback).start()
    wait_until(lambda: "parec exited" in caplog.text, what="the reason logged")
    assert "at start with status 1 (Connection failure: Connection refused)" in caplog.text
