"""spice-html5 in headless Chromium against our server, over WebSocket on the SPICE port.

The browser and the client are Debian's, unmodified; the page is spice-html5's own
spice_auto.html. What is asserted is what the browser drew on its canvas and what our
keyboard interface received. spice-html5 cannot decode LZ4, so it gets fills and QUIC
(text, UI and the photographic areas that go losslessly), which must match the server's
framebuffer exactly, and JPEG for photographic areas, which must match within a
tolerance. (spice-html5 draws a JPEG image and then throws a TypeError in its own onload
handler when no stream has existed yet; the picture is right.)
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import numpy as np
import pytest

from spice_server import Display
from spice_server.protocol.constants import ChannelType

from harness import RecordingKeyboard, display_images, framed_landscape, photo, wait_until
from html5client import FOREIGN_HOST
from scenery import landscape

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 640, 400


def ui_pattern() -> np.ndarray:
    """Flat areas and thin lines: a desktop's kind of picture, which LZ4 would shrink well,
    so it must stay lossless (QUIC, whose runs shrink it too) for spice-html5."""
    image = np.full((HEIGHT, WIDTH), 0x2A2A40, dtype=np.uint32)
    image[10:60, 10:200] = 0x336699
    image[200:380, 30:330:7] = 0xC0C0C0
    image[100:300:4, 250:600] = 0xFFFFFF
    return image.astype(np.uint32)


def serve_pattern(harness) -> Display:
    display = Display(WIDTH, HEIGHT)
    display.update(ui_pattern())
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
    wanted = {ChannelType.MAIN, ChannelType.DISPLAY, ChannelType.INPUTS}

    def kinds() -> set[int]:
        return {client.channel.type for client in harness.call(harness.server.channel_clients)}

    # The page draws as soon as the display channel is up; inputs may link a moment later.
    wait_until(lambda: wanted <= kinds(), what=f"main, display and inputs, got {kinds()}")
    clients = harness.call(harness.server.channel_clients)
    assert all(client.connection.websocket is not None for client in clients)
    (display_client,) = harness.call(harness.server.channel_clients, ChannelType.DISPLAY)
    images = Counter(display_client.images)
    assert images["quic"] > 0 and images["lz4"] == images["bitmap"] == 0, images

    # Later changes: a solid block (a fill) and lines of "text" (QUIC) show up exactly;
    # then a photograph comes as JPEG (as QUIC it would cost ten times as much) and shows
    # up within a tolerance.
    display.fill(0x00FF8000, 20, 30, 200, 100)
    lines = np.full((60, 300), 0x00202020, dtype=np.uint32)
    lines[10:14, ::2] = 0x00FFFFFF
    lines[30:34, 5::3] = 0x0000FF00
    display.update(lines, 20, 300)
    page.wait_canvas(display.snapshot())
    display.update(photo(3, 200, 120), 400, 250)
    page.wait_canvas(display.snapshot(), lossy=(400, 250, 200, 120))
    images = Counter(display_client.images)
    assert images["jpeg"] > 0 and images["lz4"] == 0, images

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


@pytest.mark.parametrize("password", [None, "s3cret"])
def test_page_from_elsewhere_is_refused_with_or_without_a_password(
    make_harness, open_page, browsers, caplog, password
):
    """With a password too: else any site could try passwords from the user's browser."""
    caplog.set_level(logging.INFO, logger="spice_server")
    harness = make_harness(password=password)
    serve_pattern(harness)
    page = open_page(harness.port, password=password, page_host=FOREIGN_HOST)
    wait_until(
        lambda: any("refused" in r.getMessage() for r in caplog.records),
        what="the server to refuse the page's WebSocket",
    )
    assert any(
        f"'http://{FOREIGN_HOST}:{browsers.web_port}' refused: only pages from a loopback"
        in r.getMessage()
        for r in caplog.records
    )
    assert page.canvas() is None
    assert harness.call(lambda: harness.server.session_count) == 0


def test_a_page_from_an_allowed_origin_gets_in(make_harness, open_page, browsers):
    origin = f"http://{FOREIGN_HOST}:{browsers.web_port}"
    harness = make_harness(password="s3cret", websocket_origins=[origin])
    display = serve_pattern(harness)
    page = open_page(harness.port, password="s3cret", page_host=FOREIGN_HOST)
    page.wait_canvas(display.snapshot())


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


def settle(harness, quiet: float = 0.5) -> None:
    """Wait until no image has been sent for ``quiet`` seconds."""
    last, since = display_images(harness), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = display_images(harness)
        if now != last:
            last, since = now, time.monotonic()


def test_photos_reach_spice_html5_as_quic_exactly(make_harness, open_page):
    """Photographs that go losslessly go as QUIC, which spice-html5's own decoder draws
    bit for bit: the first screen, bands, odd sizes, one-pixel strips and flat areas
    within a photograph (QUIC's runs)."""
    harness = make_harness(jpeg_compression="never", streaming_video="off")
    display = Display(WIDTH, HEIGHT)
    display.update(landscape(WIDTH, HEIGHT))
    harness.call(harness.server.add_interface, display)
    page = open_page(harness.port)
    page.wait_canvas(display.snapshot())
    assert display_images(harness)["quic"] >= 1

    # Each part from a photograph not shown before: a part the screen already showed could
    # be drawn from a snapshot the client keeps (cache.py) instead, once the screen settled.
    for seed, (make, (x, y, w, h)) in enumerate(
        [
            (landscape, (0, 0, WIDTH, HEIGHT)),
            (landscape, (101, 53, 333, 77)),
            (landscape, (5, 390, 601, 1)),
            (landscape, (600, 3, 1, 391)),
            (landscape, (300, 200, 7, 3)),
            (framed_landscape, (0, 0, WIDTH, HEIGHT)),  # runs of one colour in a photograph
            (framed_landscape, (41, 80, 333, 77)),
        ],
        start=10,
    ):
        picture = make(WIDTH, HEIGHT, seed=seed)
        before = display_images(harness)["quic"]
        display.update(picture[y : y + h, x : x + w].copy(), x, y, diff=False)
        page.wait_canvas(display.snapshot())
        assert display_images(harness)["quic"] > before, (x, y, w, h)
    images = display_images(harness)
    assert images["lz4"] == images["bitmap"] == images["jpeg"] == 0, images


@pytest.mark.parametrize("image_delay_ms", [0, 600])
def test_a_jpeg_photo_is_repainted_exactly_as_quic_once_still(
    make_harness, open_page, image_delay_ms
):
    """Default settings: spice-html5 first gets a photograph as JPEG, then, once the screen
    is still, the lossless repaint as QUIC (it used to be raw pixels). Also when its
    browser loads the JPEG late, as on a loaded machine: spice-html5 draws a JPEG once
    loaded, and a repaint that came first would be drawn over for good."""
    harness = make_harness()
    display = serve_pattern(harness)
    page = open_page(harness.port, image_delay_ms=image_delay_ms)
    page.wait_canvas(display.snapshot())
    # The first change also flushes the damage of the screen's first pixels (which the
    # client already has): the whole screen goes again, in bands. Get that out of the way.
    display.fill(0, 0, 8, 8, 0xFF0000)
    page.wait_canvas(display.snapshot())
    settle(harness)
    display.update(photo(3, 200, 120), 400, 250)
    wait_until(lambda: display_images(harness)["jpeg"] > 0, what="the photo as JPEG")
    page.wait_canvas(display.snapshot())  # exact: the repaint has come...
    time.sleep(image_delay_ms / 1000 + 0.5)
    page.wait_canvas(display.snapshot(), timeout=0)  # ...and no JPEG landed over it since
    images = display_images(harness)
    assert images["jpeg"] > 0 and images["quic"] > 0, images


def test_spice_html5_understands_every_message_it_is_sent(make_harness, open_page):
    """spice-html5 logs "Unknown message type N" for any message it has no handler for."""
    harness = make_harness()
    display = serve_pattern(harness)
    harness.call(harness.server.add_interface, RecordingKeyboard())
    page = open_page(harness.port)
    page.wait_canvas(display.snapshot())
    display.fill(0x00FF8000, 20, 30, 200, 100)
    page.wait_canvas(display.snapshot())
    print("\n".join(page.console))
    unknown = [line for line in page.console if "Unknown message" in line]
    assert not unknown, unknown
    # Nor is it sent what it did not ask for: the monitors config (a display channel
    # capability it does not announce) would be logged as unimplemented. (It logs MARK
    # so too, which spice-gtk needs and no capability announces.)
    unimplemented = [line for line in page.console if "Unimplemented function" in line]
    assert unimplemented == [
        "WARNING: Unimplemented function 102(Display Mark) [ further notices suppressed ]"
    ], unimplemented


@pytest.mark.parametrize("jpeg", ["auto", "never"])
def test_a_window_raised_again_is_drawn_from_a_snapshot_spice_html5_kept(
    make_harness, open_page, jpeg
):
    """spice-html5 keeps settled screens on off-screen canvases too (a draw from its
    primary surface) and draws a window raised again from there, exactly; with JPEG, once
    the screen is exact again (spice-html5 draws JPEG when loaded, QUIC at once)."""
    harness = make_harness(jpeg_compression=jpeg)
    display = serve_pattern(harness)
    page = open_page(harness.port)
    page.wait_canvas(display.snapshot())
    # No image cache here: the first screen is the first snapshot.
    wait_until(lambda: display_images(harness)["snapshot"] == 1, what="the first snapshot")
    windows = landscape(360, 240, seed=5), landscape(360, 240, seed=6)
    for n, window in enumerate(windows, 2):
        display.update(window, 100, 80)
        page.wait_canvas(display.snapshot())
        wait_until(lambda n=n: display_images(harness)["snapshot"] == n, what="a snapshot")
    before = display_images(harness)
    assert (before["jpeg"] > 0) == (jpeg == "auto"), before  # then refined as QUIC
    for window in windows:
        display.update(window, 100, 80)
        page.wait_canvas(display.snapshot())
    raised_again = display_images(harness) - before
    assert raised_again["kept"] >= 2 and set(raised_again) == {"kept"}, raised_again
