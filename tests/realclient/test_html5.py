"""spice-html5 in headless Chromium against our server, over WebSocket on the SPICE port.

The browser and the client are Debian's, unmodified; the page is spice-html5's own
spice_auto.html. What is asserted is what the browser drew on its canvas and what our
keyboard interface received. spice-html5 cannot decode LZ4, so it must get lossless bitmaps
and fills, and its canvas must equal the server's framebuffer exactly.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

from spice_server import Display
from spice_server.protocol.constants import ChannelType

from harness import RecordingKeyboard, wait_until
from html5client import FOREIGN_HOST, LOCAL_HOST, Browsers, Html5Client
from test_gtk_client import test_pattern

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 640, 400


@pytest.fixture(scope="module")
def browsers() -> Iterator[Browsers]:
    browsers = Browsers()
    yield browsers
    browsers.close()


@pytest.fixture
def open_page(browsers: Browsers) -> Iterator:
    pages: list[Html5Client] = []

    def open_(port: int, password: str | None = None, page_host: str = LOCAL_HOST) -> Html5Client:
        page = browsers.open(port, password, page_host)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def serve_pattern(harness) -> Display:
    display = Display(WIDTH, HEIGHT)
    display.update(test_pattern())
    harness.call(harness.server.add_interface, display)
    return display


def test_canvas_follows_the_framebuffer_and_keys_reach_the_keyboard(make_harness, open_page):
    harness = make_harness()
    display = serve_pattern(harness)
    keyboard = RecordingKeyboard()
    harness.call(harness.server.add_interface, keyboard)

    page = open_page(harness.port)
    page.wait_canvas(display.snapshot())

    # Every channel spice-html5 opened came over WebSocket, and images went out lossless.
    clients = harness.call(harness.server.channel_clients)
    kinds = {client.channel.type for client in clients}
    assert {ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS} <= kinds, kinds
    assert all(client.connection.websocket is not None for client in clients)
    (display_client,) = harness.call(harness.server.channel_clients, ChannelType.DISPLAY)
    images = Counter(display_client.images)
    assert images["bitmap"] > 0 and images["lz4"] == 0, images

    # A later change, a mix of a solid block and noise, shows up exactly.
    rng = np.random.default_rng(5)
    display.fill(0x00FF8000, 20, 30, 200, 100)
    display.update(rng.integers(0, 1 << 24, (90, 150), dtype=np.uint32), 400, 250)
    page.wait_canvas(display.snapshot())

    # "a" then shift+"b": PC scancodes, a release being the press | 0x80.
    page.press("a")
    page.press("Shift+b")
    expected = [0x1E, 0x9E, 0x2A, 0x30, 0xB0, 0xAA]
    wait_until(
        lambda: len(keyboard.scancodes()) >= len(expected),
        what=f"the scancodes of a and B, got {keyboard.scancodes()}\n{page}",
    )
    assert keyboard.scancodes() == expected, [hex(code) for code in keyboard.scancodes()]


def test_password_applies_to_websocket_clients(make_harness, open_page):
    harness = make_harness(password="s3cret")
    display = serve_pattern(harness)
    page = open_page(harness.port, password="s3cret")
    page.wait_canvas(display.snapshot())


def test_page_from_elsewhere_is_refused_without_a_password(
    make_harness, open_page, browsers, caplog
):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness()
    serve_pattern(harness)
    page = open_page(harness.port, page_host=FOREIGN_HOST)
    wait_until(
        lambda: any("refused" in r.getMessage() for r in caplog.records),
        what="the server to refuse the page's WebSocket",
    )
    assert any(
        f"'http://{FOREIGN_HOST}:{browsers.web_port}' refused: without a password" in r.getMessage()
        for r in caplog.records
    )
    assert page.canvas() is None
    assert harness.call(lambda: harness.server.session_count) == 0


def test_websocket_off_leaves_browsers_out(make_harness, open_page, caplog):
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness(websocket=False)
    serve_pattern(harness)
    page = open_page(harness.port)
    wait_until(
        lambda: any("bad magic b'GET '" in r.getMessage() for r in caplog.records),
        what="the HTTP request to be taken for a bad SPICE link",
    )
    assert page.canvas() is None
