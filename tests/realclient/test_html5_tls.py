"""spice-html5 in headless Chromium over wss:// to the TLS port.

The server's self-signed set-up is made first, in the module's state directory; its server
certificate serves both the page (https://, which makes spice_auto.html use wss://) and the
TLS port, and Chromium accepts exactly that key. What is asserted is the canvas and keys,
and that every channel came in over TLS and WebSocket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spice_server import ChannelEvent, ChannelEventFlags, Display
from spice_server.net.certificates import SelfSigned, self_signed
from spice_server.protocol.constants import ChannelType

from harness import RecordingKeyboard, wait_until
from html5client import Browsers

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 320, 240


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def setup(state_dir: Path) -> SelfSigned:
    return self_signed(state_dir)


@pytest.fixture(scope="module")
def browsers(setup: SelfSigned) -> Iterator[Browsers]:
    browsers = Browsers(tls=(setup.credentials.cert_file, setup.credentials.key_file))
    yield browsers
    browsers.close()


def test_spice_html5_over_wss(make_harness, browsers, state_dir):
    harness = make_harness(port=None, tls_port=0, state_dir=state_dir)
    display = Display(WIDTH, HEIGHT)
    image = np.full((HEIGHT, WIDTH), 0x2A2A40, dtype=np.uint32)  # a desktop-like picture:
    image[10:60, 10:200] = 0x336699  # flat areas and thin lines, which go losslessly
    image[100:220:4, 20:300] = 0xFFFFFF
    display.update(image)
    keyboard = RecordingKeyboard()
    harness.call(harness.server.add_interface, display)
    harness.call(harness.server.add_interface, keyboard)
    page = browsers.open(harness.tls_port)
    try:
        page.wait_canvas(display.snapshot())
        # The page draws as soon as the display channel is up; its inputs channel may link
        # a moment later, and spice-html5 drops the keys pressed before it has.
        wait_until(
            lambda: harness.call(harness.server.channel_clients, ChannelType.INPUTS),
            what=f"the inputs channel\n{page}",
        )
        page.press("a")
        wait_until(lambda: keyboard.scancodes() == [0x1E, 0x9E], what=f"a key\n{page}")
    finally:
        page.close()
    linked = [e for e in harness.events.snapshot() if e[0] == ChannelEvent.INITIALIZED]
    assert len(linked) >= 3 and all(e[5] & ChannelEventFlags.TLS for e in linked)
    clients = harness.call(harness.server.channel_clients)
    assert all(c.connection.websocket is not None and c.connection.tls for c in clients)
