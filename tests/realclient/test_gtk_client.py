"""An unmodified spice-gtk client against our server, under both cores.

Each test starts a server on a free port, registers recording back ends, and drives the
real client (clients/gtk_client.py under /usr/bin/python3). Nothing here is mocked: what is
asserted is what spice-gtk decoded and what our interfaces received.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import numpy as np
import pytest

from spice_server import (
    ButtonMask,
    ChannelEvent,
    CursorImage,
    Display,
    ImageCompression,
    KeyboardModifier,
    MouseMode,
)
from spice_server.channels.display import cache, glz, offload, stills
from spice_server.channels.display.cache import SEARCH_AGAIN_S, SNAPSHOT_EVERY_S
from spice_server.display import encoding
from spice_server.protocol.constants import ChannelType

from harness import RecordingKeyboard, RecordingMouse, RecordingTablet, display_images, wait_until

pytestmark = pytest.mark.realclient

WIDTH, HEIGHT = 640, 400


def test_pattern(width: int = WIDTH, height: int = HEIGHT, seed: int = 1) -> np.ndarray:
    """Flat areas, gradients and noise: something for every encoder to get wrong."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.uint32)
    image = ((x * 255 // width) << 16) | ((y * 255 // height) << 8) | ((x ^ y) & 0xFF)
    image[height // 2 :, : width // 3] = rng.integers(
        0, 1 << 24, (height - height // 2, width // 3), dtype=np.uint32
    )
    image[10:60, 10:200] = 0x336699
    return image.astype(np.uint32)


test_pattern.__test__ = False  # type: ignore[attr-defined]


def start(make_harness, make_client, screen: np.ndarray | None = None, **options):
    """A server showing ``screen`` (the test pattern unless given), and a client of it."""
    harness = make_harness(**options)
    display = Display(WIDTH, HEIGHT)
    display.update(test_pattern() if screen is None else screen)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port, options.get("password"))
    return harness, display, client


def test_channels_connect_and_channel_events(make_harness, make_client):
    harness, _display, client = start(make_harness, make_client)
    client.wait_ready()
    opened = {
        e["channel"] for e in client.history if e["event"] == "channel" and e["state"] == "opened"
    }
    assert opened == {"main", "display", "inputs", "cursor"}

    events = harness.events.snapshot()
    initialized = {(e[2], e[3]) for e in events if e[0] == ChannelEvent.INITIALIZED}
    assert initialized == {(1, 0), (2, 0), (3, 0), (4, 0)}
    session_ids = {e[1] for e in events if e[0] == ChannelEvent.INITIALIZED}
    assert len(session_ids) == 1 and 0 not in session_ids
    connected = [e for e in events if e[0] == ChannelEvent.CONNECTED]
    assert len(connected) == 4 and all(e[1] == 0 and e[2] == 0 for e in connected)
    assert all(e[4][0] == "127.0.0.1" for e in events)

    client.close()
    wait_until(
        lambda: sum(e[0] == ChannelEvent.DISCONNECTED for e in harness.events.snapshot()) == 4,
        what="four DISCONNECTED events",
    )
    disconnected = {
        (e[2], e[3]) for e in harness.events.snapshot() if e[0] == ChannelEvent.DISCONNECTED
    }
    assert disconnected == initialized
    assert harness.call(lambda: harness.server.session_count) == 0


@pytest.mark.parametrize(
    ("compression", "encoding", "packed"),
    [
        (ImageCompression.OFF, "bitmap", None),
        (ImageCompression.LZ4, "lz4", None),  # loopback: 32-bit rows
        (ImageCompression.LZ4, "lz4", True),  # 24-bit rows, as on a slow link
        (ImageCompression.AUTO_LZ, "quic", None),  # the pattern's gradients and noise
    ],
)
def test_framebuffer_is_exact_after_updates(
    make_harness, make_client, monkeypatch, compression, encoding, packed
):
    if packed is not None:
        monkeypatch.setattr(stills, "lz4_packs_rows", lambda rtt, rate: packed)
    harness, display, client = start(make_harness, make_client, image_compression=compression)
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())

    # A partial update and a whole new frame: the client must follow both exactly.
    patch = test_pattern(200, 120, seed=2)
    display.update(patch, 300, 250)
    expected = display.snapshot()
    assert np.array_equal(expected[250:370, 300:500], patch)
    client.wait_framebuffer(expected)
    # Rows of an odd width: 24-bit LZ4 rows are packed, the client's surface rows aligned.
    display.update(test_pattern(201, 121, seed=4), 301, 251)
    client.wait_framebuffer(display.snapshot())

    display.update(test_pattern(seed=3)[::-1].copy())
    client.wait_framebuffer(display.snapshot())

    # A one-colour area goes as a fill, whatever the compression.
    display.fill(20, 30, 200, 100, 0x12AB34)
    client.wait_framebuffer(display.snapshot())

    images = harness.call(
        lambda: sum(
            (c.images for c in harness.server.channel_clients(ChannelType.DISPLAY)),
            start=Counter(),
        )
    )
    assert images[encoding] > 0 and images["fill"] > 0, images
    assert set(images) - {"cached"} == {encoding, "fill"}, images  # cached: parts shown before


def test_palette_images_of_each_depth_are_exact(make_harness, make_client, monkeypatch):
    """spice-gtk decodes our LZ palette images: 1, 4 and 8 bits a pixel, rows of odd
    widths (padded to whole bytes), runs, and copies from more than 8 kB back."""
    depths = set()  # the LZ image types coded (2: 1 bit, 4: 4 bits, 5: 8 bits)
    encode_palette = encoding._lz.encode_palette

    def recording(pixels: np.ndarray) -> tuple[bytes, tuple[int, ...]] | None:
        coded = encode_palette(pixels)
        if coded is not None:
            depths.add(int.from_bytes(coded[0][8:12], "big"))
        return coded

    monkeypatch.setattr(encoding._lz, "encode_palette", recording)
    background = 0xF8F8F0
    flat = np.full((HEIGHT, WIDTH), background, dtype=np.uint32)
    _harness, display, client = start(make_harness, make_client, flat)
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    # Glyph-like patterns on the background, not noise (which goes as QUIC, as
    # photographs do), in bands of rows apart (the screen may be sent again in bands).
    y, x = np.mgrid[0:121, 0:201]
    text = np.where((x // 3 + y // 5) % 7 == 0, 0x101010, background).astype(np.uint32)
    sixteen = (x // 4 + y // 3 * 5) % 16
    sixteen = np.where(sixteen == 0, background, sixteen * 0x0F0E0D).astype(np.uint32)[:53, :97]
    y, x = np.mgrid[0:60, 0:150]
    block = (((x // 2 * 7 + y // 3 * 13) % 200) * 0x010203).astype(np.uint32)
    other = (((x // 5 * 3 + y * 11) % 200) * 0x010203).astype(np.uint32)
    repeated = np.concatenate([block, other, block])  # 9,000 bytes of indices each
    for pixels, left, top in ((text, 301, 251), (sixteen, 11, 13), (repeated, 400, 70)):
        display.update(pixels, left, top, diff=False)
        client.wait_framebuffer(display.snapshot())
    assert depths >= {2, 4, 5}, depths


def tiles(width: int, height: int, seed: int) -> np.ndarray:
    """Flat 8x8 tiles of random colours: past a palette, far from photographic (LZ4's)."""
    colours = np.random.default_rng(seed).integers(0, 1 << 24, (height // 8 + 1, width // 8 + 1))
    return np.repeat(np.repeat(colours, 8, axis=0), 8, axis=1)[:height, :width].astype(np.uint32)


def test_glz_images_are_exact_and_copy_from_the_images_before(
    make_harness, make_client, monkeypatch
):
    """spice-gtk decodes our GLZ images, coded on the loop and on the encoder threads,
    and copies pixels from the images it keeps: content drawn again elsewhere costs a
    fraction of its first image. An image that goes in a draw of nothing (for a surface
    replaced while it was coded) is kept all the same: the client's window must stay
    whole, or it would wait for ever for an image that a later one copies from."""
    streams: list[tuple[int, int]] = []  # (pixels, bytes) of each GLZ image

    def recording(dictionary, pixels: np.ndarray) -> bytes:
        coded = encoding.encode_glz(dictionary, pixels)
        streams.append((pixels.size, len(coded)))
        return coded

    monkeypatch.setattr(glz, "encode_glz", recording)
    # No snapshot of the screen to draw the content shown again from: the GLZ window must.
    monkeypatch.setattr(cache, "SNAPSHOT_EVERY_S", 3600.0)
    background = 0xF8F8F0
    flat = np.full((HEIGHT, WIDTH), background, dtype=np.uint32)
    harness, display, client = start(make_harness, make_client, flat)  # GLZ: the default
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    first, other = tiles(201, 90, 1), tiles(300, 150, 2)
    for pixels, left, top in ((first, 301, 5), (other, 10, 200), (first, 20, 110)):
        display.update(pixels, left, top, diff=False)
        client.wait_framebuffer(display.snapshot())
    assert streams[-1][0] == first.size  # drawn again: copied from where it was first
    assert streams[-1][1] < len(encoding.encode_lz4(first)) / 5, streams

    monkeypatch.setattr(offload, "OFFLOAD_PIXELS", 1024)  # on the encoder threads from now
    unseen = tiles(200, 100, 3)
    begin = glz.GlzWindow.begin
    monkeypatch.setattr(
        glz.GlzWindow, "begin", lambda self, build: (lambda e, _, n: (e, n, n))(*begin(self, build))
    )
    coded = len(streams)
    display.update(unseen, 400, 250, diff=False)
    wait_until(lambda: len(streams) > coded, what="the image that shows nothing")
    monkeypatch.setattr(glz.GlzWindow, "begin", begin)
    display.update(unseen, 30, 270, diff=False)  # copied from the image not shown
    display.fill(400, 250, 200, 100, background)  # where it was not shown
    client.wait_framebuffer(display.snapshot())
    assert streams[-1][1] < len(encoding.encode_lz4(unseen)) / 5, streams
    assert display_images(harness)["glz"] >= 5


def test_resize_recreates_the_surface(make_harness, make_client):
    _harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    display.resize(320, 240, test_pattern(320, 240, seed=4))
    client.wait_for(lambda e: e["event"] == "primary" and e["width"] == 320, what="new primary")
    client.wait_framebuffer(display.snapshot())


def test_keys_arrive_as_scancode_bytes(make_harness, make_client):
    harness, _display, client = start(make_harness, make_client)
    keyboard = RecordingKeyboard()
    harness.call(harness.server.add_interface, keyboard)
    client.wait_ready()

    client.send(cmd="key_press_and_release", scancode=0x1E)  # a
    client.send(cmd="key_press", scancode=0x2A)  # left shift down
    client.send(cmd="key_press_and_release", scancode=0x30)  # b
    client.send(cmd="key_release", scancode=0x2A)
    client.send(cmd="key_press", scancode=0x148)  # up arrow (E0 48)
    client.send(cmd="key_release", scancode=0x148)
    client.send(cmd="key_press", scancode=0x11D)  # right ctrl (E0 1D)
    client.send(cmd="key_release", scancode=0x11D)
    client.send(cmd="key_press_and_release", scancode=0x11C)  # keypad enter (E0 1C)
    expected = [
        0x1E,
        0x9E,
        0x2A,
        0x30,
        0xB0,
        0xAA,
        0xE0,
        0x48,
        0xE0,
        0xC8,
        0xE0,
        0x1D,
        0xE0,
        0x9D,
        0xE0,
        0x1C,
        0xE0,
        0x9C,
    ]
    wait_until(
        lambda: len(keyboard.scancodes()) >= len(expected),
        what=f"all scancodes, got {keyboard.scancodes()} {client.history[-8:]}",
    )
    assert keyboard.scancodes() == expected, [hex(b) for b in keyboard.scancodes()]


def test_mouse_in_server_mode_goes_to_the_mouse(make_harness, make_client):
    harness, _display, client = start(make_harness, make_client)
    mouse = RecordingMouse()
    harness.call(harness.server.add_interface, mouse)
    client.wait_ready()
    client.wait_mouse_mode(MouseMode.SERVER)

    client.send(cmd="motion", dx=5, dy=-3, buttons=0)
    client.send(cmd="button_press", button=1, buttons=0)
    client.send(cmd="button_release", button=1, buttons=int(ButtonMask.LEFT))
    client.send(cmd="button_press", button=3, buttons=0)
    client.send(cmd="button_release", button=3, buttons=int(ButtonMask.RIGHT))
    client.send(cmd="button_press", button=5, buttons=0)  # wheel down
    client.send(cmd="button_release", button=5, buttons=0)
    expected = [
        ("motion", 5, -3, 0, 0),
        ("buttons", int(ButtonMask.LEFT)),
        ("buttons", 0),
        ("buttons", int(ButtonMask.RIGHT)),
        ("buttons", 0),
        ("motion", 0, 0, 1, 0),
    ]
    wait_until(lambda: len(mouse.recorder.snapshot()) >= len(expected), what="mouse calls")
    assert mouse.recorder.snapshot() == expected


def test_mouse_in_client_mode_goes_to_the_tablet(make_harness, make_client):
    harness, _display, client = start(make_harness, make_client)
    mouse, tablet = RecordingMouse(), RecordingTablet()
    harness.call(harness.server.add_interface, mouse)
    harness.call(harness.server.add_interface, tablet)
    client.wait_ready()
    # spice-gtk asks for client mode by itself once a tablet makes it available.
    client.wait_mouse_mode(MouseMode.CLIENT)
    assert harness.call(lambda: harness.server.mouse_mode) == MouseMode.CLIENT
    assert ("size", WIDTH, HEIGHT) in tablet.recorder.snapshot()
    tablet.recorder.clear()

    client.send(cmd="position", x=100, y=50, display=0, buttons=0)
    client.send(cmd="button_press", button=1, buttons=0)
    client.send(cmd="button_release", button=1, buttons=int(ButtonMask.LEFT))
    client.send(cmd="button_press", button=4, buttons=0)  # wheel up
    client.send(cmd="button_release", button=4, buttons=0)
    expected = [
        ("position", 100, 50, 0, 0),
        ("buttons", int(ButtonMask.LEFT)),
        ("buttons", 0),
        ("wheel", -1, 0),
    ]
    wait_until(lambda: len(tablet.recorder.snapshot()) >= len(expected), what="tablet calls")
    assert tablet.recorder.snapshot() == expected
    assert mouse.recorder.snapshot() == []

    # Many positions in a row: without motion acks the client would stop after eight.
    for i in range(40):
        client.send(cmd="position", x=200 + i, y=100, display=0, buttons=0)
    wait_until(
        lambda: ("position", 239, 100, 0, 0) in tablet.recorder.snapshot(),
        what="the last of 40 positions",
    )

    # Back to server mode on request: motion goes to the mouse again.
    client.send(cmd="request_mouse_mode", mode=int(MouseMode.SERVER))
    client.next_event(
        lambda e: e["event"] == "mouse_mode" and e["mode"] == MouseMode.SERVER,
        what="server mouse mode",
    )
    client.send(cmd="motion", dx=1, dy=2, buttons=0)
    wait_until(lambda: ("motion", 1, 2, 0, 0) in mouse.recorder.snapshot(), what="motion")


def test_caps_lock_led_reaches_the_client(make_harness, make_client):
    harness, _display, client = start(make_harness, make_client)
    keyboard = RecordingKeyboard()
    harness.call(harness.server.add_interface, keyboard)
    client.wait_ready()
    keyboard.set_leds(KeyboardModifier.CAPS_LOCK)  # from this (non-loop) thread, on purpose
    client.wait_for(
        lambda e: e["event"] == "key_modifiers" and e["modifiers"] & KeyboardModifier.CAPS_LOCK,
        what="caps lock on",
    )
    keyboard.set_leds(0)
    client.next_event(
        lambda e: e["event"] == "key_modifiers" and e["modifiers"] == 0, what="caps lock off"
    )


def test_wrong_password_is_refused_and_the_right_one_gets_in(make_harness, make_client):
    harness = make_harness(password="s3cret")
    display = Display(WIDTH, HEIGHT)
    display.update(test_pattern())
    harness.call(harness.server.add_interface, display)

    intruder = make_client(harness.port, "wrong")
    intruder.wait_for(
        lambda e: e["event"] == "channel" and e["channel"] == "main" and e["state"] == "error-auth",
        what="auth error",
    )
    assert not any(e["event"] == "primary" for e in intruder.history)

    client = make_client(harness.port, "s3cret")
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())


def test_removing_the_keyboard_drops_keys_quietly(make_harness, make_client):
    harness, display, client = start(make_harness, make_client)
    keyboard, tablet = RecordingKeyboard(), RecordingTablet()
    harness.call(harness.server.add_interface, keyboard)
    harness.call(harness.server.add_interface, tablet)
    client.wait_ready()
    client.send(cmd="key_press_and_release", scancode=0x1E)
    wait_until(lambda: keyboard.scancodes() == [0x1E, 0x9E], what="first key")

    harness.call(harness.server.remove_interface, keyboard)
    client.send(cmd="key_press_and_release", scancode=0x30)
    # The session lives on: the tablet still gets positions and the display still updates.
    client.wait_mouse_mode(MouseMode.CLIENT)
    client.send(cmd="position", x=7, y=9, display=0, buttons=0)
    wait_until(lambda: ("position", 7, 9, 0, 0) in tablet.recorder.snapshot(), what="position")
    display.update(test_pattern(seed=5))
    client.wait_framebuffer(display.snapshot())
    assert keyboard.scancodes() == [0x1E, 0x9E]

    replacement = RecordingKeyboard()
    harness.call(harness.server.add_interface, replacement)
    client.send(cmd="key_press_and_release", scancode=0x2C)
    wait_until(lambda: replacement.scancodes() == [0x2C, 0xAC], what="keys to the new keyboard")


def test_cursor_shape_reaches_the_client(make_harness, make_client):
    _harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    first = client.wait_for(lambda e: e["event"] == "cursor_set", what="initial cursor")
    assert first["width"] > 0 and first["height"] > 0

    pixels = np.zeros((24, 16, 4), dtype=np.uint8)
    pixels[..., 2] = 200  # red
    pixels[..., 3] = 255
    pixels[5:10, 3:8] = (10, 20, 30, 128)
    display.set_cursor(CursorImage.from_array(pixels, hot_x=3, hot_y=5))
    shape = client.next_event(
        lambda e: e["event"] == "cursor_set" and e["width"] == 16, what="new cursor shape"
    )
    assert (shape["height"], shape["hot_x"], shape["hot_y"]) == (24, 3, 5)
    # The client hands the shape over as R, G, B, A; we sent B, G, R, A.
    assert bytes.fromhex(shape["pixels"]) == pixels[..., [2, 1, 0, 3]].tobytes()

    display.hide_cursor()
    client.next_event(lambda e: e["event"] == "cursor_hide", what="cursor hidden")


def test_exclusive_server_lets_a_new_client_replace_the_old_one(make_harness, make_client):
    harness, display, first = start(make_harness, make_client, exclusive=True)
    first.wait_ready()
    second = make_client(harness.port)
    second.wait_ready()
    first.wait_for(
        lambda e: e["event"] == "channel" and e["channel"] == "main" and e["state"] != "opened",
        what="the first client's main channel to close",
    )
    assert harness.call(lambda: harness.server.session_count) == 1
    display.update(test_pattern(seed=11))
    second.wait_framebuffer(display.snapshot())


def test_shared_server_serves_two_clients_at_once(make_harness, make_client):
    harness, display, first = start(make_harness, make_client)
    second = make_client(harness.port)
    first.wait_ready()
    second.wait_ready()
    assert harness.call(lambda: harness.server.session_count) == 2
    display.update(test_pattern(seed=12))
    first.wait_framebuffer(display.snapshot())
    second.wait_framebuffer(display.snapshot())


def test_a_stalled_client_costs_bounded_memory_and_then_sees_the_current_screen(
    make_harness, make_client
):
    harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    os.kill(client.proc.pid, signal.SIGSTOP)  # the client stops reading, as a frozen one would
    try:
        worst = 0
        for seed in range(100, 160):  # 60 full-screen changes while it is stalled
            display.update(test_pattern(seed=seed))
            time.sleep(0.02)
            worst = max(
                worst,
                harness.call(
                    lambda: max(
                        c.connection.pending
                        for c in harness.server.channel_clients(ChannelType.DISPLAY)
                    )
                ),
            )
        # What waits for the client is bounded by the low-water mark plus one message,
        # not by the number of frames produced meanwhile.
        assert worst < 2 * 1024 * 1024, worst
    finally:
        os.kill(client.proc.pid, signal.SIGCONT)
    client.wait_framebuffer(display.snapshot())


def test_scrolled_content_goes_as_copies(make_harness, make_client):
    rng = np.random.default_rng(3)
    page = np.full((2000, 560), 0x101010, dtype=np.uint32)
    for top in range(0, 2000, 16):  # "text lines" of random glyph dots
        page[top + 2 : top + 14][rng.random((12, 560)) < 0.3] = 0xE0E0E0
    harness = make_harness()
    display = Display(WIDTH, HEIGHT)
    display.update(page[:HEIGHT, :], 40, 0)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    for step in range(1, 30):  # a terminal scrolling one line at a time
        display.update(page[16 * step : 16 * step + HEIGHT], 40, 0)
        time.sleep(0.02)
    client.wait_framebuffer(display.snapshot())
    images = harness.call(lambda: harness.server.channel_clients(ChannelType.DISPLAY)[0].images)
    assert images["copy"] >= 20, images


def test_content_that_only_moved_shows_moved(make_harness, make_client):
    """A page scrolled back down a few pixels, the rows it uncovers the background they
    were: the move is all that changed, sent as a copy alone (a browser's page scrolled
    to its top stayed shifted on the client until something else changed)."""
    rng = np.random.default_rng(5)
    page = np.full((HEIGHT, WIDTH), 0xF8F8F8, dtype=np.uint32)
    for top in range(64, HEIGHT - 64, 16):  # lines of "glyphs" with blank margins
        page[top + 2 : top + 14, 40:600][rng.random((12, 560)) < 0.3] = 0x202020
    harness = make_harness()
    display = Display(WIDTH, HEIGHT)
    display.update(page)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_framebuffer(page)
    moved = np.roll(page, 6, axis=0)  # what rolls round is the bottom margin's background
    display.update(moved)
    client.wait_framebuffer(moved, timeout=5)
    assert display_images(harness)["copy"] == 1


def test_what_shows_again_is_drawn_from_the_clients_image_cache(make_harness, make_client):
    """A window covers the screen and moves away: what it uncovers is the first screen's
    pixels, which spice-gtk kept in its image cache; it is drawn from there, exactly."""
    harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    first = display.snapshot()
    client.wait_framebuffer(first)
    window = test_pattern(200, 150, seed=7)
    display.update(window, 100, 100)
    client.wait_framebuffer(display.snapshot())
    display.update(first[100:250, 100:300], 100, 100)  # the window went away
    client.wait_framebuffer(first)
    images = harness.call(
        lambda: sum(
            (c.images for c in harness.server.channel_clients(ChannelType.DISPLAY)),
            start=Counter(),
        )
    )
    assert images["cached"] >= 1, images


def test_content_shown_again_elsewhere_is_drawn_from_the_clients_image_cache(
    make_harness, make_client
):
    """The first screen's content back at another place, with no copy to say so (a page
    scrolled back, a map panned back, after something else showed): found near where it
    was and drawn from that part of spice-gtk's cached first screen, exactly."""
    harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    first = display.snapshot()
    client.wait_framebuffer(first)
    rng = np.random.default_rng(11)
    display.update(rng.integers(0, 1 << 24, (HEIGHT, WIDTH), dtype=np.uint32))
    client.wait_framebuffer(display.snapshot())
    time.sleep(SEARCH_AGAIN_S)  # after a search in vain (the noise), the next waits
    moved = rng.integers(0, 1 << 24, (HEIGHT, WIDTH), dtype=np.uint32)
    moved[12:, 20:] = first[:-12, :-20]  # the first screen's content, moved by (20, 12)
    display.update(moved)
    client.wait_framebuffer(moved)
    assert display_images(harness)["cached"] >= 1


def test_a_window_raised_again_is_drawn_from_a_snapshot_the_client_kept(make_harness, make_client):
    """Two windows raised in turn over the first screen: each settled screen is kept on
    one of spice-gtk's off-screen surfaces (a draw from its primary surface), and a
    window raised again is drawn from there, exactly, instead of being sent again."""
    harness, display, client = start(make_harness, make_client)
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    windows = test_pattern(400, 300, seed=21), test_pattern(400, 300, seed=22)
    for n, window in enumerate(windows, 1):
        display.update(window, 120, 60)
        client.wait_framebuffer(display.snapshot())
        wait_until(lambda n=n: display_images(harness)["snapshot"] == n, what="a snapshot")
    before = display_images(harness)
    for window in windows:
        display.update(window, 120, 60)
        client.wait_framebuffer(display.snapshot())
    time.sleep(SNAPSHOT_EVERY_S)  # a snapshot would have been taken by now
    raised_again = display_images(harness) - before
    assert raised_again["kept"] >= 2, raised_again
    assert set(raised_again) == {"kept"}, raised_again  # no image, no new snapshot


def test_kept_screens_go_with_a_resize_and_each_client_keeps_its_own(make_harness, make_client):
    """Two clients keep snapshots of their own; a resize drops them all (their surfaces
    destroyed before the primary) and the new screens are kept and drawn from again."""
    harness, display, first = start(make_harness, make_client)
    second = make_client(harness.port)
    clients = (first, second)
    for client in clients:
        client.wait_ready()
    windows = test_pattern(300, 200, seed=31), test_pattern(300, 200, seed=32) ^ 0xFFFFFF

    def show(window: np.ndarray, snapshots: int | None = None) -> None:
        display.update(window, 120, 60)
        for client in clients:
            client.wait_framebuffer(display.snapshot())
        if snapshots is not None:  # settled: kept by each client
            wait_until(lambda: display_images(harness)["snapshot"] == snapshots, what="snapshots")

    show(windows[0], snapshots=2)
    show(windows[1], snapshots=4)
    display.resize(560, 360, test_pattern(560, 360, seed=33))
    for client in clients:
        client.wait_for(lambda e: e["event"] == "primary" and e["width"] == 560, what="primary")
        client.wait_framebuffer(display.snapshot())
    show(windows[0], snapshots=6)
    show(windows[1], snapshots=8)
    before = display_images(harness)
    show(windows[0])  # raised again: drawn from what each client kept since the resize
    time.sleep(SNAPSHOT_EVERY_S)
    drawn = display_images(harness) - before
    assert drawn["kept"] >= 2 and set(drawn) == {"kept"}, drawn
