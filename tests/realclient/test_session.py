"""``spice-server session``: a private X server, a program on it, and a real client.

The command is run as a user runs it; spice-gtk connects where it says, gets the desktop,
resizes it with its window, types into the xterm, and ends it: the session must end with
it, cleanly (exit status 0, the X server gone).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import xcffib

from spice_server import MouseMode

from harness import GtkClient, wait_until
from test_x11 import HELLO_WORLD, type_keys, x_pointer, x_screen

pytestmark = pytest.mark.realclient

CTRL, D = 0x1D, 0x20


def x_alive(name: str) -> bool:
    try:
        xcffib.connect(display=name).disconnect()
    except xcffib.ConnectionException:
        return False
    return True


def test_a_session_runs_xterm_follows_the_client_and_ends_with_it(real_client, tmp_path):
    typed = tmp_path / "typed.txt"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "spice_server", "session"),
            *("--port", "0", "--no-sound", "--size", "1024x768", "--"),
            *("xterm", "-geometry", "80x24+0+0", "-e", "sh", "-c", f"cat > {typed}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    drain = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    drain.start()
    client: GtkClient | None = None
    try:
        match = re.search(r"spice://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert match, "".join(log)
        found = wait_until(
            lambda: next((m for line in log if (m := re.search(r"session on (:\d+)", line))), None),
            what="the session's X display in the log",
        )
        display = found.group(1)
        assert "(Xorg, 1024x768)" in found.string  # the dummy driver, preferred to Xvfb
        assert x_screen(display).shape == (768, 1024)

        client = GtkClient(int(match.group(1)), tmpdir=tmp_path)
        client.wait_ready()
        # The client's window decides the size: the session's X server follows it.
        client.send(cmd="monitor_config", width=1000, height=700)
        client.wait_for(
            lambda e: e["event"] == "primary" and e["width"] == 1000,
            what="a 1000x700 desktop at the client",
        )
        assert x_screen(display).shape == (700, 1000)

        # Typing reaches the xterm (evdev keycodes on Xorg too); Ctrl-D ends its cat.
        wait_until(typed.exists, what="the xterm running cat")
        client.wait_mouse_mode(MouseMode.CLIENT)
        client.send(cmd="position", x=100, y=100, display=0, buttons=0)
        wait_until(lambda: x_pointer(display) == (100, 100), what="the pointer on the xterm")
        type_keys(client, HELLO_WORLD)
        wait_until(lambda: typed.read_text() == "Hello world\n", what="the text in the xterm")
        client.send(cmd="key_press", scancode=CTRL)
        client.send(cmd="key_press_and_release", scancode=D)
        client.send(cmd="key_release", scancode=CTRL)

        # The xterm ended: so does the session, cleanly, and its X server with it.
        assert proc.wait(20) == 0, "".join(log)
        assert not x_alive(display)
        assert not Path(f"/tmp/.X11-unix/X{display[1:]}").exists()
        drain.join(5)
        assert any("the session's command ended with status 0" in line for line in log)
    finally:
        if client is not None:
            client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
