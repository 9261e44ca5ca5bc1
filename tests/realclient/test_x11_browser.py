"""A web browser's page scrolled through the x11 back end, as a user scrolls one.

Chromium (Debian's, the one spice-html5's tests drive) shows a long page on an Xvfb the
back end exports; spice-gtk sends wheel clicks, Chromium scrolls smoothly (a few pixels
a frame at the start and end of each scroll), the back end finds the moves and sends
copies. After each burst of clicks the client must show the X screen exactly: a page
scrolled back to its top once stayed shifted by its last few pixels (a move with
nothing new uncovered was never told to the client).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from spice_server import MouseMode

from harness import display_images, wait_until
from test_x11 import Exported, x_screen

pytestmark = pytest.mark.realclient

WHEEL_UP, WHEEL_DOWN = 4, 5  # SPICE's mouse buttons for the wheel
CLICKS = 25  # per burst: the page's top is left and reached again


def page(path: Path) -> Path:
    """A long page of headings, text, colour bands and monospace blocks."""
    rng = np.random.default_rng(1)
    words = ["lorem", "ipsum", "dolor", "spice", "pixel", "frame", "stream", "server"]
    parts = ["<html><body style='font-family:sans-serif;margin:20px;background:#fafafa'>"]
    for n in range(60):
        text = " ".join(rng.choice(words, 80))
        parts.append(f"<h2 style='color:hsl({n * 37 % 360},60%,45%)'>Section {n}</h2><p>{text}</p>")
        if n % 3 == 0:
            parts.append(
                "<div style='height:100px;width:600px;"
                f"background:linear-gradient(90deg,hsl({n * 37 % 360},60%,50%),#123,#fe0)'></div>"
            )
        if n % 5 == 0:
            lines = ["".join(rng.choice(list("abcdef0123 "), 60)) for _ in range(5)]
            parts.append("<pre style='background:#222;color:#0f0'>" + "\n".join(lines) + "</pre>")
    path.write_text("\n".join(parts) + "</body></html>")
    return path


def wheel(s: Exported, button: int, clicks: int) -> None:
    for _ in range(clicks):
        s.client.send(cmd="button_press", button=button, buttons=0)
        s.client.send(cmd="button_release", button=button, buttons=0)
        time.sleep(0.03)


def test_a_page_scrolled_down_and_back_up_shows_exactly(make_harness, make_client, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "chromium is needed: apt-get install chromium"
    s = Exported(make_harness, make_client, tmp_path)
    try:
        s.x.run(
            chromium,
            "--no-sandbox",  # run as root in CI
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-first-run",
            "--window-position=0,0",
            "--window-size=1024,768",
            f"--app=file://{page(tmp_path / 'page.html')}",
        )
        wait_until(
            lambda: np.count_nonzero(x_screen(s.x.name) == 0xFAFAFA) > 100_000,
            timeout=30,
            what="Chromium showing the page",
        )
        s.client.wait_mouse_mode(MouseMode.CLIENT)
        s.client.send(cmd="position", x=500, y=400, display=0, buttons=0)
        s.client.wait_screen(lambda: x_screen(s.x.name), 15, "the page")
        for burst in range(4):
            wheel(s, WHEEL_DOWN if burst % 2 == 0 else WHEEL_UP, CLICKS)
            s.client.wait_screen(lambda: x_screen(s.x.name), 10, f"the page after burst {burst}")
        assert display_images(s.harness)["copy"] >= 10  # the scrolls went as copies
    finally:
        s.close()
