"""The demo desktop with the real client, and the spice-server command itself."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from spice_server import KeyboardModifier, MouseMode
from spice_server.backends import tones
from spice_server.backends.demo import NOTE_SECONDS, DemoDesktop

from harness import GtkClient, wait_until
from test_sound import dominant_hz, played_pcm

pytestmark = pytest.mark.realclient


def test_typing_caps_lock_and_pointer_in_the_demo(make_harness, make_client):
    harness = make_harness()
    desktop = DemoDesktop(harness.server, 800, 600)
    harness.call(desktop.start, harness.core)
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_mouse_mode(MouseMode.CLIENT)

    # "Hi" with shift, then Caps Lock and "ok": the demo applies both, the LED follows.
    client.send(cmd="key_press", scancode=0x2A)
    client.send(cmd="key_press_and_release", scancode=0x23)
    client.send(cmd="key_release", scancode=0x2A)
    client.send(cmd="key_press_and_release", scancode=0x17)
    client.send(cmd="key_press_and_release", scancode=0x3A)
    client.send(cmd="key_press_and_release", scancode=0x18)
    client.send(cmd="key_press_and_release", scancode=0x25)
    wait_until(lambda: harness.call(lambda: desktop.text) == "HiOK", what="typed text")
    client.wait_for(
        lambda e: e["event"] == "key_modifiers" and e["modifiers"] & KeyboardModifier.CAPS_LOCK,
        what="caps lock LED",
    )

    # The client's own lock state wins when it differs: the demo's LED goes off again.
    client.send(cmd="set_key_locks", locks=0)
    wait_until(
        lambda: harness.call(lambda: int(desktop.keyboard.state.locks)) == 0,
        what="caps lock synchronised off",
    )

    client.send(cmd="position", x=300, y=400, display=0, buttons=0)
    client.send(cmd="button_press", button=1, buttons=0)
    wait_until(
        lambda: harness.call(lambda: (desktop.pointer, desktop.pressed)) == ((300, 400), 1),
        what="pointer and button in the demo",
    )
    # The screen the client sees is the demo's, pixel for pixel.
    wait_showing(client, harness, desktop)


def test_the_command_serves_the_demo_and_refuses_open_addresses(real_client, tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "spice_server", "demo", "--addr", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2 and "without a password" in refused.stderr

    proc = subprocess.Popen(
        [sys.executable, "-m", "spice_server", "demo", "--port", "0", "--core", "selector"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"spice://127\.0\.0\.1:(\d+)", line)
        assert match, line
        client = GtkClient(int(match.group(1)), tmpdir=tmp_path)
        try:
            client.wait_ready()
            assert client.framebuffer().shape == (768, 1024)
        finally:
            client.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "client 127.0.0.1 connected" in err
    assert "client 127.0.0.1 disconnected" in err


def test_the_demo_plays_notes_shows_the_volume_and_listens(make_harness, make_client, tmp_path):
    harness = make_harness()
    desktop = DemoDesktop(harness.server, 800, 600)
    harness.call(desktop.start, harness.core)
    client = make_client(harness.port, audio=True)
    client.wait_ready()
    client.wait_for(
        lambda e: e["event"] == "playback_volume" and e["volume"] == [45874, 45874],
        what="the demo's volume (70 %) at connect",
    )

    client.send(cmd="key_press_and_release", scancode=0x1E)  # "a": the scale's first note
    client.wait_for(lambda e: e["event"] == "playback_stop", what="a note, then silence")
    played = played_pcm(client, tmp_path)
    hz = dominant_hz(played[:, 0].astype(float))
    print(f"demo note: {hz:.2f} Hz for {len(played) / 48000 * 1000:.0f} ms")
    assert abs(hz - tones.note(0x1E)) < 2
    assert len(played) == NOTE_SECONDS * 48000

    client.send(cmd="key_press_and_release", scancode=0x49 | 0x100)  # Page Up: louder
    client.send(cmd="key_press_and_release", scancode=0x4F | 0x100)  # End: mute
    client.wait_for(
        lambda e: e["event"] == "playback_volume" and e["volume"] == [52428, 52428],
        what="volume up",
    )
    client.wait_for(lambda e: e["event"] == "playback_mute" and e["mute"], what="muted")

    client.send(cmd="key_press_and_release", scancode=0x52 | 0x100)  # Insert: microphone
    client.wait_for(lambda e: e["event"] == "record_start", what="the demo records")
    loud = np.round(np.sin(np.arange(9600) / 7) * 20000).astype("<i2").repeat(2)
    path = tmp_path / "mic.raw"
    loud.tofile(path)
    client.send(cmd="record_send", path=str(path))
    wait_until(lambda: harness.call(lambda: desktop.mic_level) > 0.8, what="the meter moving")
    # The volume bar and the meter are on the screen the client sees.
    wait_showing(client, harness, desktop)


def wait_showing(client, harness, desktop) -> None:
    """Until the client shows what the demo shows at that moment: the demo's clock and
    meters change now and then, so a snapshot taken once may be gone before it arrives."""

    def same() -> bool:
        want = harness.call(desktop.display.snapshot) & 0x00FFFFFF
        return bool(np.array_equal(client.framebuffer(), want))

    wait_until(same, timeout=15, what="the client showing the demo's screen")
