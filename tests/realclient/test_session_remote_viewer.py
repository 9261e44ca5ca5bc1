"""``spice-server session -- xterm`` with remote-viewer, as a new user meets it.

remote-viewer (Debian ``virt-viewer``) runs unmodified on an Xvfb of its own, where the
test plays the user and the window manager over X: it resizes remote-viewer's window
(the session's X screen must follow) and types ``exit`` into it with XTEST (the keys
travel through remote-viewer to the xterm; the session must end with the xterm, cleanly).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import xcffib
import xcffib.xproto
import xcffib.xtest
from test_session import Session, x_alive
from test_x11_monitors import viewer_windows

from harness import wait_until
from test_x11 import x_pointer
from xserver import XServer

pytestmark = pytest.mark.realclient

XK_RETURN = 0xFF0D
KEY_PRESS, KEY_RELEASE, MOTION = 2, 3, 6  # XTEST FakeInput's event types


def toplevel(name: str) -> tuple[int, int, int]:
    """remote-viewer's one shown top-level window on its X server: (id, width, height)."""
    conn = xcffib.connect(display=name)
    try:
        root = conn.get_setup().roots[0].root
        shown = []
        for window in conn.core.QueryTree(root).reply().children:
            if (
                conn.core.GetWindowAttributes(window).reply().map_state
                == xcffib.xproto.MapState.Viewable
            ):
                geometry = conn.core.GetGeometry(window).reply()
                shown.append((window, geometry.width, geometry.height))
        assert len(shown) == 1, f"remote-viewer shows {len(shown)} windows, one expected"
        return shown[0]
    finally:
        conn.disconnect()


def screen_size(name: str) -> tuple[int, int]:
    """The X screen's current size (the root window's geometry follows RandR changes)."""
    conn = xcffib.connect(display=name)
    try:
        geometry = conn.core.GetGeometry(conn.get_setup().roots[0].root).reply()
        return geometry.width, geometry.height
    finally:
        conn.disconnect()


def xterm_area(name: str) -> tuple[int, int, int, int]:
    """The rectangle of the one program window shown on the session's screen."""
    conn = xcffib.connect(display=name)
    try:
        root = conn.get_setup().roots[0].root
        for window in conn.core.QueryTree(root).reply().children:
            if (
                conn.core.GetWindowAttributes(window).reply().map_state
                == xcffib.xproto.MapState.Viewable
            ):
                g = conn.core.GetGeometry(window).reply()
                return g.x, g.y, g.width, g.height
        raise AssertionError("no window is shown on the session's screen")
    finally:
        conn.disconnect()


def about(size: tuple[int, int], want: tuple[int, int]) -> bool:
    """The size spice-gtk asks for a display area: its width in multiples of 8 (up to 7
    less), its height as it is (2 pixels either way for the window's own rounding)."""
    return want[0] - 8 < size[0] <= want[0] and abs(size[1] - want[1]) <= 2


def stop(session: Session) -> None:
    """After a failure: end the session as Ctrl-C does, so that it takes its X server and
    xterm with it (a killed session would leave them behind); kill it only if it hangs."""
    if session.proc.poll() is None:
        session.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            session.proc.wait(20)
    session.kill()


class User:
    """The user at remote-viewer's X server: moves its window, its pointer, types (XTEST)."""

    def __init__(self, name: str) -> None:
        self.conn = xcffib.connect(display=name)
        setup = self.conn.get_setup()
        self.root = setup.roots[0].root
        self.xtest = self.conn(xcffib.xtest.key)
        first, count = setup.min_keycode, setup.max_keycode - setup.min_keycode + 1
        mapping = self.conn.core.GetKeyboardMapping(first, count).reply()
        per = mapping.keysyms_per_keycode
        syms = list(mapping.keysyms)
        self.keycodes: dict[int, int] = {}
        for index in range(count):
            keysym = syms[index * per]  # unshifted: lower-case letters and Return
            self.keycodes.setdefault(keysym, first + index)

    def resize(self, window: int, width: int, height: int) -> None:
        """As a window manager does when the user drags the window's corner."""
        mask = xcffib.xproto.ConfigWindow.Width | xcffib.xproto.ConfigWindow.Height
        self.conn.core.ConfigureWindow(window, mask, [width, height])
        self.conn.flush()

    def focus(self, window: int) -> None:
        self.conn.core.SetInputFocus(
            xcffib.xproto.InputFocus.PointerRoot, window, xcffib.xproto.Time.CurrentTime
        )
        self.conn.flush()

    def point(self, x: int, y: int) -> None:
        self.xtest.FakeInput(MOTION, 0, 0, self.root, x, y, 0)
        self.conn.flush()

    def type(self, text: str) -> None:
        for char in text:
            keycode = self.keycodes[XK_RETURN if char == "\n" else ord(char)]
            self.xtest.FakeInput(KEY_PRESS, keycode, 0, self.root, 0, 0, 0)
            self.xtest.FakeInput(KEY_RELEASE, keycode, 0, self.root, 0, 0, 0)
        self.conn.core.GetInputFocus().reply()  # a round trip: the keys went in

    def close(self) -> None:
        self.conn.disconnect()


def test_remote_viewer_gets_a_session_that_follows_its_window_and_ends_with_xterm(tmp_path):
    binary = shutil.which("remote-viewer")
    assert binary, "remote-viewer is missing: install the Debian package virt-viewer"
    assert shutil.which("xterm"), "xterm is missing: install the Debian package xterm"
    session = Session("--no-sound", "--size", "1024x768", "--", "xterm")
    viewer_x = XServer(tmp_path, "xvfb", 1280, 1024)
    env = dict(viewer_x.env, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    viewer = subprocess.Popen(
        [binary, f"spice://127.0.0.1:{session.port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    user: User | None = None
    try:
        # (1) remote-viewer connects and shows the desktop in one window.
        wait_until(
            lambda: "client 127.0.0.1 connected" in session.text(),
            timeout=30,
            what="the server's log of remote-viewer connecting",
        )
        wait_until(
            lambda: viewer_windows(viewer_x.name) == ["spice-server session (1)"],
            timeout=30,
            what="remote-viewer's window",
        )
        assert screen_size(session.display) == (1024, 768)
        # remote-viewer opens its window to fit the 1024x768 desktop; what it adds
        # around the desktop (menu, tool bar, borders) is the window's size less that.
        window, width, height = wait_until(
            lambda: (t := toplevel(viewer_x.name))[1] > 1024 and t,
            what="remote-viewer's window around the whole desktop",
        )
        extra_w, extra_h = width - 1024, height - 768
        assert 0 <= extra_w < 64 and 0 <= extra_h < 160, (width, height)

        # (2) The session's X screen follows remote-viewer's window, smaller and larger.
        user = User(viewer_x.name)
        for width, height in ((900, 650), (1201, 931)):
            user.resize(window, width, height)
            want = (width - extra_w, height - extra_h)
            try:
                wait_until(
                    lambda want=want: about(screen_size(session.display), want),
                    timeout=30,
                    what=f"the session's screen at about {want[0]}x{want[1]}",
                )
            except AssertionError as exc:
                shown = screen_size(session.display), toplevel(viewer_x.name)
                raise AssertionError(f"{exc}; screen, window: {shown}") from None
            # remote-viewer then fits its window to the desktop's new size (a width in
            # multiples of 8): a resize before that would be undone by it.
            size = screen_size(session.display)
            wait_until(
                lambda size=size: (
                    toplevel(viewer_x.name)[1:] == (size[0] + extra_w, size[1] + extra_h)
                ),
                what="remote-viewer's window around the new desktop",
            )
        assert "the X screen is now" in session.text()

        # (3) "exit" typed at remote-viewer reaches the xterm's shell: the session ends
        # with it, cleanly, and its X server is gone.
        user.focus(window)
        seen: list[object] = []

        def pointer_on_xterm() -> bool:
            # Moved again on every try: a motion while remote-viewer was still settling
            # its window may be lost.
            user.point(extra_w // 2 + 100 + len(seen) % 2, extra_h + 100)
            x, y, w, h = xterm_area(session.display)
            px, py = x_pointer(session.display)
            seen.append(((x, y, w, h), (px, py), x_pointer(viewer_x.name)))
            return x <= px < x + w and y <= py < y + h

        try:
            wait_until(pointer_on_xterm, timeout=20, what="the session's pointer on the xterm")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; xterm, pointer, viewer's pointer: {seen[-2:]}") from None
        user.type("exit\n")
        assert session.wait(30) == 0, session.text()
        assert "the session's command ended with status 0" in session.text()
        assert not x_alive(session.display)
        assert not Path(f"/tmp/.X11-unix/X{session.display[1:]}").exists()
    finally:
        if user is not None:
            user.close()
        viewer.terminate()
        viewer.wait(10)
        viewer_x.kill()
        stop(session)
