"""Several monitors: a spice-gtk client asks for two or three (as remote-viewer does with a
window per monitor), the x11 back end lays the X screen out with one RandR output each,
and the client is told the monitors X then shows."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

import numpy as np
import pytest
import xcffib
import xcffib.randr
import xcffib.xproto

from spice_server.backends.x11 import X11Desktop

from harness import wait_until
from xserver import XServer

pytestmark = pytest.mark.realclient


def x_monitors(name: str) -> tuple[tuple[int, int], set[tuple[int, int, int, int]]]:
    """The X screen's size and the monitors X itself lists (RandR 1.5 GetMonitors)."""
    conn = xcffib.connect(display=name)
    try:
        randr = conn(xcffib.randr.key)
        randr.QueryVersion(1, 5).reply()
        screen = conn.get_setup().roots[0]
        reply = randr.GetMonitors(screen.root, 1).reply()
        geometry = conn.core.GetGeometry(screen.root).reply()
        monitors = {(m.x, m.y, m.width, m.height) for m in reply.monitors}
        return (geometry.width, geometry.height), monitors
    finally:
        conn.disconnect()


def client_monitors(event: dict) -> list[tuple[int, int, int, int]]:
    return [(m["x"], m["y"], m["width"], m["height"]) for m in event["monitors"]]


@pytest.fixture
def exported(make_harness, make_client, tmp_path, request):
    x = XServer(tmp_path, request.param)
    harness = make_harness()
    # Clients may lay out an X server the tests started (test_x11_resize: when they may not).
    desktop = X11Desktop(harness.server, x.name, sound=False, resize="always")
    try:
        harness.call(desktop.start, harness.core)
        client = make_client(harness.port)
        client.wait_ready()
        yield x, client, harness.port
    finally:
        try:
            harness.call(desktop.stop)
        finally:
            x.kill()


def ask(client, monitors: list[tuple[int, int, int, int]], align: bool = True) -> None:
    """As remote-viewer asks; spice-gtk lines them up left to right unless ``align`` is
    off (its disable-display-align), when their places go as given."""
    client.send(
        cmd="monitors_config",
        monitors=[{"x": x, "y": y, "width": w, "height": h} for x, y, w, h in monitors],
        align=align,
    )


def wait_client_monitors(client, wanted: list[tuple[int, int, int, int]]) -> dict:
    return client.next_event(
        lambda e: e["event"] == "monitors" and client_monitors(e) == wanted,
        timeout=15,
        what=f"the monitors {wanted} at the client",
    )


LAYOUTS = {  # monitors, and whether spice-gtk lines them up
    "two side by side": ([(0, 0, 800, 600), (800, 0, 800, 600)], True),
    "three in a row": ([(0, 0, 640, 480), (640, 0, 800, 600), (1440, 0, 1024, 768)], True),
    "three, one below": ([(0, 0, 640, 480), (640, 0, 800, 600), (0, 600, 1024, 768)], False),
}


@pytest.mark.parametrize("exported", ["dummy"], indirect=True)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_monitors_become_x_outputs_and_client_monitors(exported, layout):
    x, client, _port = exported
    wanted, align = LAYOUTS[layout]
    ask(client, wanted, align)
    event = wait_client_monitors(client, wanted)
    assert event["max"] >= len(wanted)  # Xorg's dummy driver has 16 outputs
    width = max(m[0] + m[2] for m in wanted)
    height = max(m[1] + m[3] for m in wanted)
    assert x_monitors(x.name) == ((width, height), set(wanted))
    client.wait_for(
        lambda e: e["event"] == "primary" and (e["width"], e["height"]) == (width, height),
        what="the whole screen's surface at the client",
    )

    # Back to one monitor: the outputs lit for the others go dark again.
    ask(client, [(0, 0, 1024, 768)])
    wait_client_monitors(client, [(0, 0, 1024, 768)])
    assert x_monitors(x.name) == ((1024, 768), {(0, 0, 1024, 768)})


@pytest.mark.parametrize("exported", ["dummy"], indirect=True)
def test_the_client_sees_what_x_shows_on_each_monitor(exported):
    from test_x11 import x_screen

    x, client, _port = exported
    wanted = [(0, 0, 640, 480), (640, 0, 640, 480)]
    ask(client, wanted)
    wait_client_monitors(client, wanted)
    wait_until(
        lambda: np.array_equal(client.framebuffer(), x_screen(x.name)),
        what="the two-monitor screen at the client",
    )


@pytest.mark.parametrize("exported", ["xvfb"], indirect=True)
def test_an_x_server_with_one_output_shows_the_first_monitor_and_says_why(exported, caplog):
    x, client, _port = exported
    caplog.set_level(logging.INFO, logger="spice_server")
    ask(client, [(0, 0, 800, 600), (800, 0, 800, 600)])
    wait_until(
        lambda: "it has outputs for 1 of the 2 monitors" in caplog.text,
        what="the refusal in the log",
    )
    wait_client_monitors(client, [(0, 0, 800, 600)])
    assert x_monitors(x.name)[0] == (800, 600)


def viewer_windows(name: str) -> list[str]:
    """The titles of remote-viewer's shown top-level windows, one per monitor ("... (1)")."""
    conn = xcffib.connect(display=name)
    try:
        root = conn.get_setup().roots[0].root
        titles = []
        for window in conn.core.QueryTree(root).reply().children:
            attributes = conn.core.GetWindowAttributes(window).reply()
            if attributes.map_state != xcffib.xproto.MapState.Viewable:
                continue
            reply = conn.core.GetProperty(
                False, window, xcffib.xproto.Atom.WM_NAME, xcffib.xproto.Atom.STRING, 0, 1024
            ).reply()
            title = reply.value.to_string() if reply.value_len else ""
            if re.search(r"\(\d+\)$", title):
                titles.append(title)
        return sorted(titles)
    finally:
        conn.disconnect()


@pytest.mark.parametrize("exported", ["dummy"], indirect=True)
def test_remote_viewer_opens_a_window_per_monitor(exported, tmp_path):
    """remote-viewer (virt-viewer) on an Xvfb of its own shares the desktop with the
    spice-gtk client; when that client asks for two monitors, remote-viewer opens a
    second window, as it does for a guest with two heads."""
    x, client, port = exported
    binary = shutil.which("remote-viewer")
    assert binary, "remote-viewer is missing: install the Debian package virt-viewer"
    viewer_x = XServer(tmp_path, "xvfb", 1920, 1080)
    env = dict(viewer_x.env, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    viewer = subprocess.Popen(
        [binary, f"spice://127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: len(viewer_windows(viewer_x.name)) == 1, what="remote-viewer's first window"
        )
        wanted = [(0, 0, 800, 600), (800, 0, 800, 600)]
        ask(client, wanted)
        wait_client_monitors(client, wanted)
        titles = wait_until(
            lambda: (t := viewer_windows(viewer_x.name)) and len(t) == 2 and t,
            timeout=15,
            what="a second remote-viewer window",
        )
        assert [t[-3:] for t in titles] == ["(1)", "(2)"]
        assert x_monitors(x.name)[1] == set(wanted)
    finally:
        viewer.terminate()
        viewer.wait(10)
        viewer_x.kill()
