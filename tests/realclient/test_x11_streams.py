"""A moving window on a real X server streams as one area, close to its source.

An X program (tests/xmover.py) paints a 640x480 window on a 1280x800 Xvfb at 30 frames a
second, each frame a pure function of its number, which is painted into it. Like a
program whose images Xlib splits at the request size limit, it paints every frame in two
requests (400 rows, then 80), so the capture may see a frame as two boxes, or a box of one
frame and one of the next. The client must still get one stream covering the whole
window (not a 640x400 stream beside an 80-row band of still images of another frame).

Quality is measured at the client: its pixels are read, the frame number read back from
them, that very frame rebuilt, and the PSNR taken over the window. The target is PSNR_DB
(35 dB) for every sample while the window moves, and the exact picture once it stops.
Since the program paints a frame in two requests, the X screen itself shows for a moment
the new top above the old bottom; the bottom band is therefore compared with the frame
shown above it or a neighbour of it, whichever it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from spice_server.backends.x11 import X11Desktop
from spice_server.protocol.constants import ChannelType
from spice_server.protocol.rect import Rect
from xmover import STRIP, frame

from framecode import read_strip, sample_rows, strip_size
from harness import display_images, wait_until
from html5client import Browsers
from xserver import XServer

pytestmark = pytest.mark.realclient

SCREEN = (1280, 800)
WINDOW = Rect.from_size(320, 160, 640, 480)
BAND_ROWS = 400
PSNR_DB = 35.0
MOVING_S = 5.0  # how long the client is sampled while the window moves
# between samples: reading the whole framebuffer stalls spice-gtk for a moment, which its
# link estimate would take for a slow link if it came too often
SAMPLE_EVERY_S = 0.5
FIRST_FRAMES = 15  # stream frames sent before the client is sampled (half a second)
MOVER = Path(__file__).parents[1] / "xmover.py"

# The X server and the client's core are not what these tests are about: one core.
one_core = pytest.mark.parametrize("core_kind", ["asyncio"])


class Mover:
    """tests/xmover.py on an X server: moving until ``still``."""

    def __init__(self, display: str, kind: str) -> None:
        self.kind = kind
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(MOVER),
                "--display",
                display,
                "--kind",
                kind,
                "--geometry",
                f"{WINDOW.width}x{WINDOW.height}+{WINDOW.left}+{WINDOW.top}",
                "--band-rows",
                str(BAND_ROWS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert json.loads(line).get("ready"), line

    def still(self) -> int:
        """Stop moving; the number of the last frame, which stays."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("still\n")
        self.proc.stdin.flush()
        return int(json.loads(self.proc.stdout.readline())["still"])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def frame_number(window: np.ndarray) -> int | None:
    """The number painted in the window's strip, None if it does not read cleanly."""
    x, y = STRIP
    width, _ = strip_size()
    rows = [np.ascontiguousarray(window[y + r, x : x + width]).tobytes() for r in sample_rows()]
    return read_strip(rows)


def _squared_error(shown: np.ndarray, source: np.ndarray) -> float:
    a = np.ascontiguousarray(shown).view(np.uint8).reshape(*shown.shape, 4)[..., :3]
    b = np.ascontiguousarray(source).view(np.uint8).reshape(*source.shape, 4)[..., :3]
    return float(((a.astype(float) - b.astype(float)) ** 2).sum())


def window_psnr(window: np.ndarray, number: int, kind: str) -> float:
    """PSNR in dB of the window as shown against the source frame ``number`` (the bottom
    band against whichever of that frame's neighbours it shows, see the module's doc)."""
    sources = {
        n: frame(kind, n, WINDOW.width, WINDOW.height) for n in range(number - 1, number + 2)
    }
    top = _squared_error(window[:BAND_ROWS], sources[number][:BAND_ROWS])
    bottom = min(_squared_error(window[BAND_ROWS:], s[BAND_ROWS:]) for s in sources.values())
    mse = (top + bottom) / (WINDOW.area * 3)
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def crop(screen: np.ndarray | None) -> np.ndarray | None:
    """The window's part of a screen."""
    if screen is None:
        return None
    return screen[WINDOW.top : WINDOW.bottom, WINDOW.left : WINDOW.right] & 0xFFFFFF


def stream_areas(harness) -> list[Rect | None]:
    """Each display client's stream area now (None: no stream)."""

    def areas() -> list[Rect | None]:
        clients = harness.server.channel_clients(ChannelType.DISPLAY)
        return [c.streams.areas() for c in clients]

    return harness.call(areas)


def check_moving_window(
    harness, x: XServer, window: Callable[[], np.ndarray | None], kind: str
) -> list[float]:
    """Start the mover; while it moves, one stream covering the whole window and every
    sample of ``window()`` (the client's pixels there) within PSNR_DB of its source; once
    it is still, the exact picture. Returns the figures."""
    mover = Mover(x.name, kind)
    try:
        wait_until(lambda: display_images(harness)["stream"] >= 1, timeout=20, what="a stream")
        # From its first frames on (the moment it starts, the client may still show
        # pieces of frames sent before it).
        wait_until(lambda: display_images(harness)["frame"] >= FIRST_FRAMES, what="frames")
        # Measured afterwards: the server runs in this process, and rebuilding frames
        # meanwhile would take its loop's time.
        samples: list[tuple[np.ndarray, int]] = []
        deadline = time.monotonic() + MOVING_S
        while time.monotonic() < deadline:
            areas = stream_areas(harness)
            assert areas == [WINDOW], (areas, display_images(harness))
            shown = window()
            number = frame_number(shown) if shown is not None else None
            if shown is not None and number is not None:
                samples.append((shown, number))
            time.sleep(SAMPLE_EVERY_S)
        images = display_images(harness)
        assert images["stream"] == 1, images  # one stream for as long as it moved
        last = mover.still()
        expected = frame(kind, last, WINDOW.width, WINDOW.height)

        def exact() -> bool:
            shown = window()
            return shown is not None and np.array_equal(shown, expected)

        wait_until(exact, timeout=20, what="the still window exact at the client")
        figures = [window_psnr(shown, number, kind) for shown, number in samples]
        print(f"{kind}: PSNR at the client while moving (dB):", [round(f, 1) for f in figures])
        assert len(figures) >= 5, figures
        assert min(figures) >= PSNR_DB, [round(f, 1) for f in figures]
        return figures
    finally:
        mover.close()


@pytest.fixture
def exported(make_harness, tmp_path) -> Iterator[Callable[..., tuple]]:
    """An Xvfb 1280x800 exported by the x11 back end, with the given server settings."""
    made: list[tuple[XServer, X11Desktop, object]] = []

    def make(**options: object) -> tuple:
        x = XServer(tmp_path, "xvfb", *SCREEN)
        harness = make_harness(**options)
        desktop = X11Desktop(harness.server, x.name)
        harness.call(desktop.start, harness.core)
        made.append((x, desktop, harness))
        return x, harness

    yield make
    for x, desktop, harness in made:
        try:
            if not desktop.lost:
                harness.call(desktop.stop)
        finally:
            x.kill()


@one_core
@pytest.mark.parametrize("codec", ["mjpeg", "h264"])
@pytest.mark.parametrize("kind", ["video", "pan"])
def test_spice_gtk_sees_a_moving_window_as_one_stream_within_35_db(
    exported, make_client, codec, kind
):
    x, harness = exported(video_codecs=(codec,))
    client = make_client(harness.port)
    client.wait_ready()
    check_moving_window(harness, x, lambda: crop(client.framebuffer()), kind)


@pytest.fixture(scope="module")
def browsers() -> Iterator[Browsers]:
    browsers = Browsers()
    yield browsers
    browsers.close()


@one_core
@pytest.mark.parametrize("kind", ["video", "pan"])
def test_spice_html5_sees_a_moving_window_as_one_stream_within_35_db(exported, browsers, kind):
    """spice-html5 draws MJPEG frames on its canvas, where they are measured."""
    x, harness = exported(video_codecs=("mjpeg",))
    page = browsers.open(harness.port)
    area = (WINDOW.left, WINDOW.top, WINDOW.width, WINDOW.height)

    def window() -> np.ndarray | None:
        shown = page.canvas(area)
        return None if shown is None else shown & 0xFFFFFF

    try:
        wait_until(lambda: page.canvas() is not None, timeout=20, what="spice-html5's canvas")
        check_moving_window(harness, x, window, kind)
    finally:
        page.close()
