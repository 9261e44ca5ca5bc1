"""``spice-server session``: a private X server, a program on it, and a real client.

The command is run as a user runs it; spice-gtk connects where it says, gets the desktop,
resizes it with its window, types into the xterm, and ends it: the session must end with
it, cleanly (exit status 0, the X server gone).
"""

from __future__ import annotations

import re
import signal
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


class Session:
    """``spice-server session`` running: its port, its X display, its log lines."""

    def __init__(self, *args: str, uri: str = r"spice://127\.0\.0\.1:(\d+)") -> None:
        """``uri``: how the first line says where to connect (its group: the port)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spice_server", "session", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        self._drain = threading.Thread(target=self.log.extend, args=(proc.stderr,), daemon=True)
        self._drain.start()
        match = re.search(uri, proc.stdout.readline())
        assert match, self.text()
        self.port = int(match.group(1))
        self.started = wait_until(
            lambda: next((line for line in self.log if "session on :" in line), None),
            what="the session's X display in the log",
        )
        self.display = self.started.split("session on ")[1].split()[0]

    def text(self) -> str:
        return "".join(self.log)

    def wait(self, timeout: float) -> int:
        status = self.proc.wait(timeout)
        self._drain.join(5)
        return status

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.mark.parametrize("x_server", ["auto", "xvfb"])
def test_a_session_runs_xterm_follows_the_client_and_ends_with_it(real_client, tmp_path, x_server):
    typed = tmp_path / "typed.txt"
    session = Session(
        *("--no-sound", "--size", "1024x768", "--x-server", x_server, "--"),
        *("xterm", "-geometry", "80x24+0+0", "-e", "sh", "-c", f"cat > {typed}"),
    )
    client: GtkClient | None = None
    try:
        display = session.display
        # Xorg's dummy driver where it is installed (the tests install it), else Xvfb.
        kind = "Xorg" if x_server == "auto" else "Xvfb"
        assert f"({kind}, 1024x768)" in session.started
        assert x_screen(display).shape == (768, 1024)

        client = GtkClient(session.port, tmpdir=tmp_path)
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
        assert session.wait(20) == 0, session.text()
        assert not x_alive(display)
        assert not Path(f"/tmp/.X11-unix/X{display[1:]}").exists()
        assert "the session's command ended with status 0" in session.text()
    finally:
        if client is not None:
            client.close()
        session.kill()


def test_stopping_the_server_ends_the_command_and_the_x_server(tmp_path):
    pid_file = tmp_path / "pid"
    session = Session(
        "--no-sound", "--x-server", "xvfb", "--", "sh", "-c", f"echo $$ > {pid_file}; sleep 600"
    )
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the command")
        pid = int(pid_file.read_text())
        session.proc.send_signal(signal.SIGTERM)  # as Ctrl-C or a service manager does
        assert session.wait(20) == 0, session.text()
        assert not x_alive(session.display)
        assert not Path(f"/proc/{pid}").exists(), "the command outlived its session"
    finally:
        session.kill()


def test_a_bad_size_or_a_missing_command_fails_before_listening():
    for args, reason in (
        (["--size", "big"], "size 'big': WIDTHxHEIGHT expected"),
        (["--size", "9000x100"], "from 64x64 to 4096x2160"),
        (["--", "no-such-program-here"], "cannot run 'no-such-program-here': not found"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "spice_server", "session", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert reason in result.stderr, (args, result.stderr)
        assert "listening on" not in result.stderr


def end(session: Session) -> None:
    """Stop the session as Ctrl-C does; it ends its command and X server."""
    if session.proc.poll() is None:
        session.proc.send_signal(signal.SIGTERM)
        assert session.wait(20) == 0, session.text()
    assert not x_alive(session.display)


def test_a_session_lays_out_the_client_s_monitors_and_gives_one_back(real_client, tmp_path):
    """The session's Xorg follows a client asking for two monitors (a RandR output each);
    when the client leaves, the screen is one monitor of the session's size again."""
    from test_x11_monitors import ask, wait_client_monitors, x_monitors

    session = Session(
        "--no-sound", "--size", "1024x768", "--x-server", "xorg", "--", "sleep", "600"
    )
    client: GtkClient | None = None
    try:
        client = GtkClient(session.port, tmpdir=tmp_path)
        client.wait_ready()
        wanted = [(0, 0, 800, 600), (800, 0, 640, 480)]
        ask(client, wanted)
        event = wait_client_monitors(client, wanted)
        assert event["max"] >= 2
        assert x_monitors(session.display) == ((1440, 600), set(wanted))
        client.close()
        client = None
        wait_until(
            lambda: x_monitors(session.display) == ((1024, 768), {(0, 0, 1024, 768)}),
            what="one 1024x768 monitor once the client left",
        )
        end(session)
    finally:
        if client is not None:
            client.close()
        session.kill()


def test_a_session_takes_the_tls_options(real_client, tmp_path):
    """The network options are every sub-command's: a TLS-only session says where its
    TLS port is, and spice-gtk connects there trusting the CA it names."""
    session = Session(
        *("--no-sound", "--x-server", "xvfb", "--port", "off", "--tls-port", "0"),
        *("--state-dir", str(tmp_path / "state"), "--", "sleep", "600"),
        uri=r"spice://127\.0\.0\.1\?tls-port=(\d+)",
    )
    client: GtkClient | None = None
    try:
        assert session.proc.stdout is not None
        line = ""
        while "Connect with" not in line:
            line = session.proc.stdout.readline()
            assert line, session.text()
        match = re.search(r"--spice-ca-file=(\S+) --spice-host-subject='([^']+)'", line)
        assert match, line
        assert f"'spice://127.0.0.1?tls-port={session.port}'" in line
        client = GtkClient(
            None,
            tmpdir=tmp_path,
            tls_port=session.port,
            ca_file=Path(match.group(1)),
            host_subject=match.group(2),
        )
        client.wait_ready()
        assert client.framebuffer().shape == x_screen(session.display).shape
        client.close()
        client = None
        end(session)
    finally:
        if client is not None:
            client.close()
        session.kill()
