"""Moving windows on a real X server, and how close a client's picture of them comes.

tests/xmover.py paints a window of numbered frames, each a pure function of its number.
A test reads the client's pixels, reads the number back from them, rebuilds that very
frame and takes the PSNR over the window; the mover's log of when it painted each frame
tells how old the picture the client shows is.

A mover may paint each frame in two requests (as Xlib splits a large image), so the X
screen itself shows for a moment the new top above the old bottom; the bottom band is
therefore compared with the frame shown above it or a neighbour of it, whichever it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from spice_server.protocol.constants import ChannelType
from spice_server.protocol.rect import Rect
from xmover import STRIP, frame

from framecode import read_pixels

MOVER = Path(__file__).with_name("xmover.py")


class Mover:
    """tests/xmover.py on an X server: a window at ``rect`` moving until ``still``."""

    def __init__(self, display: str, kind: str, rect: Rect, band_rows: int = 0) -> None:
        self.kind, self.rect, self.band_rows = kind, rect, band_rows
        geometry = f"{rect.width}x{rect.height}+{rect.left}+{rect.top}"
        args = ["--display", display, "--kind", kind, "--geometry", geometry]
        self.proc = subprocess.Popen(
            [sys.executable, str(MOVER), *args, "--band-rows", str(band_rows)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._read()
        assert line.get("ready"), line

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def _say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def still(self) -> int:
        """Stop moving; the number of the last frame, which stays."""
        self._say("still")
        return int(self._read()["still"])

    def painted(self) -> dict[int, float]:
        """Stop; when (time.monotonic) each frame was on the X screen, by number."""
        self._say("quit")
        return {int(n): float(t) for n, t in self._read()["frames"]}

    def psnr(self, shown: np.ndarray, number: int) -> float:
        """PSNR in dB of the window as shown against its frame ``number`` (the bottom band
        against whichever of that frame's neighbours it shows, see the module's doc)."""
        width, height = self.rect.width, self.rect.height
        sources = {n: frame(self.kind, n, width, height) for n in range(number - 1, number + 2)}
        rows = self.band_rows or height
        top = _squared_error(shown[:rows], sources[number][:rows])
        bottom = min(_squared_error(shown[rows:], s[rows:]) for s in sources.values())
        mse = (top + bottom) / (self.rect.area * 3)
        return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))

    def expected(self, number: int) -> np.ndarray:
        return frame(self.kind, number, self.rect.width, self.rect.height)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def frame_number(window: np.ndarray) -> int | None:
    """The number painted in the window's strip, None if it does not read cleanly."""
    return read_pixels(window, *STRIP)


def _squared_error(shown: np.ndarray, source: np.ndarray) -> float:
    a = np.ascontiguousarray(shown).view(np.uint8).reshape(*shown.shape, 4)[..., :3]
    b = np.ascontiguousarray(source).view(np.uint8).reshape(*source.shape, 4)[..., :3]
    return float(((a.astype(float) - b.astype(float)) ** 2).sum())


def crop(screen: np.ndarray | None, rect: Rect) -> np.ndarray | None:
    """A window's part of a screen."""
    if screen is None:
        return None
    return screen[rect.top : rect.bottom, rect.left : rect.right] & 0xFFFFFF


def stream_areas(harness) -> list[list[Rect]]:
    """Each display client's stream areas now, sorted."""

    def areas() -> list[list[Rect]]:
        clients = harness.server.channel_clients(ChannelType.DISPLAY)
        rects = [[s.rect for s in c.streams.active.values()] for c in clients]
        return [sorted(found, key=lambda r: (r.top, r.left)) for found in rects]

    return harness.call(areas)
