"""The workloads of the display benchmark: which X programs run, and what the client does.

Each workload starts the same X programs on whichever X server it is given (Xspice's or
the Xvfb our server exports) and returns a ``Setup``: where the frame numbers are, which
area echoes typed keys, the drag path, and the program that is told to stop moving.
The programs themselves are in workloads/ (numbered frames, see workloads/animation.py)
or are xterm.
"""

from __future__ import annotations

import functools
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xcffib
import xcffib.xproto as xp

from lineproc import LineProcess

HERE = Path(__file__).parent
PROGRAMS = HERE / "workloads"
sys.path.insert(0, str(PROGRAMS))
from pan import frame as pan_frame  # noqa: E402

from scenery import cached_landscape  # noqa: E402

THROUGHPUT = PROGRAMS / "throughput.py"  # counts what a terminal takes in
FLOOD = "while :; do ls -lR /usr/share; done"
# Antialiased, as the terminals of a desktop draw text (Debian fonts-dejavu-core): dozens
# of colours where a bitmap font has two, and glyphs X composites instead of copying.
TRUETYPE = ("-fa", "DejaVu Sans Mono", "-fs", "9")

# The dragged window (workloads/drag.py): its size, where the pointer holds it, and the
# marker the client looks for.
DRAG_SIZE = (320, 240)
DRAG_GRAB = (160, 130)
DRAG_MARKER, DRAG_QUAD = 8, 10
DRAG_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
DRAG_STEP = 10  # pixels per pointer move: enough for the marker check to tell places apart


@dataclass
class Typing:
    area: tuple[int, int, int, int]  # the xterm whose pixels change when a key echoes
    click: tuple[int, int]  # where to click first, so the keys go to that xterm
    interval: float = 0.15


@dataclass
class Drag:
    path: list[tuple[int, int]]
    offset: tuple[int, int]  # from the pointer to the marker's top left
    interval: float = 1 / 60


@dataclass
class Rebuild:
    """What frame N of a workload's window looks like: a sample of the client's window
    is compared with the very frame whose number it shows."""

    window: tuple[int, int, int, int]  # x, y, width, height on the screen
    frame: Callable[[int], np.ndarray]  # (height, width) 0x00RRGGBB


@dataclass
class Setup:
    """A workload running on one X display."""

    mover: LineProcess | None = None  # told "still" at the end, then "quit"
    strip: tuple[int, int, int] | None = None  # X, Y, CELL of the frame numbers
    typing: Typing | None = None
    drag: Drag | None = None
    prelude_s: float = 0.0  # how long it runs before the client connects
    output_log: Path | None = None  # a terminal's throughput (workloads/throughput.py)
    rebuild: Rebuild | None = None  # its frames, to measure the client's picture in motion
    others: list[subprocess.Popen] = field(default_factory=list)

    def still(self) -> float | None:
        """Make the mover stop; the CLOCK_MONOTONIC time its last change was done."""
        if self.mover is None:
            return None
        return float(self.mover.ask("still")["t"])

    def finish(self) -> dict:
        """Stop everything; the mover's log (painted frames or window moves)."""
        log = self.mover.ask("quit") if self.mover is not None else {}
        self.stop()
        return log

    def stop(self) -> None:
        if self.mover is not None:
            self.mover.close("quit")
        for proc in self.others:
            proc.terminate()
        for proc in self.others:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def environment(display: str) -> dict[str, str]:
    return dict(os.environ, DISPLAY=display, PYTHONPATH=str(HERE))


def program(name: str, display: str, cache: Path, *args: str) -> tuple[LineProcess, dict]:
    """Start workloads/NAME.py and wait for its first frame."""
    proc = LineProcess(
        [
            sys.executable,
            str(PROGRAMS / f"{name}.py"),
            f"--display={display}",
            f"--cache={cache}",
            *args,
        ],
        environment(display),
    )
    try:
        ready = proc.read(60)
    except Exception:
        proc.close()
        raise
    return proc, ready


def xterm(
    display: str, title: str, geometry: str, command: str, font: tuple[str, ...] = ()
) -> subprocess.Popen:
    return subprocess.Popen(
        ["xterm", *font, "-title", title, "-geometry", geometry, "-e", "sh", "-c", command],
        env=environment(display),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def window_area(display: str, title: str, timeout: float = 20) -> tuple[int, int, int, int]:
    """Screen rectangle (x, y, w, h, border included) of the mapped top-level window
    called ``title``, once it is there."""
    conn = xcffib.connect(display=display)
    try:
        root = conn.get_setup().roots[0].root
        name_atom = conn.core.InternAtom(True, len("WM_NAME"), "WM_NAME").reply().atom
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in conn.core.QueryTree(root).reply().children:
                prop = conn.core.GetProperty(False, child, name_atom, 0, 0, 256).reply()
                attributes = conn.core.GetWindowAttributes(child).reply()
                if bytes(prop.value.buf()) == title.encode() and attributes.map_state == 2:
                    g = conn.core.GetGeometry(child).reply()
                    border = 2 * g.border_width
                    return g.x, g.y, g.width + border, g.height + border
            time.sleep(0.1)
        raise RuntimeError(f"no window {title!r} on {display}")
    finally:
        conn.disconnect()


def centre(area: tuple[int, int, int, int]) -> tuple[int, int]:
    return area[0] + area[2] // 2, area[1] + area[3] // 2


def typed_xterm(display: str, geometry: str, setup: Setup) -> Typing:
    setup.others.append(xterm(display, "typing", geometry, "exec cat"))
    area = window_area(display, "typing")
    time.sleep(0.5)  # let it draw its first prompt-less screen
    return Typing(area, centre(area))


def drag_path(width: int, height: int, steps: int) -> list[tuple[int, int]]:
    """Pointer positions: sweeps left and right DRAG_STEP pixels a move while bobbing up
    and down, keeping the dragged window on the screen; no position repeats soon."""
    gx, gy = DRAG_GRAB
    low_x, high_x = gx + 20, width - DRAG_SIZE[0] + gx - 20
    span = high_x - low_x
    mid_y, swing = height // 2 - DRAG_SIZE[1] // 2 + gy, (height - DRAG_SIZE[1]) // 2 - 30
    path = []
    for i in range(steps):
        along = (i * DRAG_STEP) % (2 * span)
        x = low_x + (along if along < span else 2 * span - along)
        path.append((x, round(mid_y + swing * math.sin(i / 23))))
    return path


def pan(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    mover, ready = program("pan", display, cache, "--geometry=800x600+0+0")
    # The picture the program made and kept in the cache: the same file, the same frames.
    picture = cached_landscape(1600, 1200, cache=str(cache))
    frame = functools.partial(pan_frame, picture, width=800, height=600)
    rebuild = Rebuild((0, 0, 800, 600), frame)
    return Setup(mover, tuple(ready["strip"]), rebuild=rebuild)


def video(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    mover, ready = program("video", display, cache)
    return Setup(mover, tuple(ready["strip"]))


def scroll(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    mover, ready = program("scroll", display, cache, "--at=40,40", "--size=100x40")
    return Setup(mover, tuple(ready["strip"]))


def typing(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    setup = Setup()
    setup.typing = typed_xterm(display, "80x24+40+40", setup)
    return setup


def typing_pan(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    setup = pan(display, size, cache, seconds)
    try:
        setup.typing = typed_xterm(display, "80x8+0+630", setup)
    except Exception:
        setup.stop()
        raise
    return setup


def typing_video(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    setup = video(display, size, cache, seconds)
    try:
        setup.typing = typed_xterm(display, f"80x8+0+{size[1] - 138}", setup)
    except Exception:
        setup.stop()
        raise
    return setup


def flood(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    return flooding(display, cache, "80x50+0+0", (), "60x20+520+40")


def flood_tt(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    return flooding(display, cache, "110x45+0+0", TRUETYPE, "40x20+770+40")


def flooding(display: str, cache: Path, geometry: str, font: tuple[str, ...], typing: str) -> Setup:
    """An xterm of ``geometry`` and ``font`` flooding, its intake counted; keys typed into
    a second xterm (a bitmap font) at ``typing``."""
    setup = Setup(prelude_s=3.0, output_log=cache / f"flood-{display.lstrip(':')}.log")
    setup.output_log.unlink(missing_ok=True)
    counted = f"{FLOOD} | {shlex.quote(sys.executable)} {shlex.quote(str(THROUGHPUT))} "
    counted += shlex.quote(str(setup.output_log))
    setup.others.append(xterm(display, "flood", geometry, counted, font))
    try:
        window_area(display, "flood")
        setup.typing = typed_xterm(display, typing, setup)
    except Exception:
        setup.stop()
        raise
    return setup


def idle(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    setup = Setup()
    setup.others.append(xterm(display, "idle", "80x24+40+40", "exec cat"))
    window_area(display, "idle")
    return setup


def drag(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    path = drag_path(*size, steps=int(seconds * 60) + 1)
    start = (path[0][0] - DRAG_GRAB[0], path[0][1] - DRAG_GRAB[1])
    mover, _ = program(
        "drag",
        display,
        cache,
        f"--at={start[0]},{start[1]}",
        f"--size={DRAG_SIZE[0]}x{DRAG_SIZE[1]}",
    )
    offset = (DRAG_MARKER - DRAG_GRAB[0], DRAG_MARKER - DRAG_GRAB[1])
    return Setup(mover, drag=Drag(path, offset))


def windows(display: str, size: tuple[int, int], cache: Path, seconds: float) -> Setup:
    mover, ready = program("windows", display, cache)
    return Setup(mover, tuple(ready["strip"]))


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    start: Callable[[str, tuple[int, int], Path, float], Setup]
    default: bool = True  # part of a run that names no workload


WORKLOADS = {
    w.name: w
    for w in (
        Workload("pan", "800x600 photograph panning at 60 fps (MIT-SHM PutImage)", pan),
        Workload("video", "full-screen video-like content, 60 fps, every pixel changes", video),
        Workload("flood", "xterm flooding (ls -lR), keys typed into a second xterm", flood),
        Workload(
            "flood-tt",
            "the flood in an antialiased TrueType font (DejaVu Sans Mono 9, 110x45)",
            flood_tt,
            False,
        ),
        Workload("typing", "keys typed into an xterm running cat, nothing else moving", typing),
        Workload("typing-pan", "keys typed into an xterm beside the 60 fps pan", typing_pan),
        Workload(
            "typing-video",
            "keys typed into an xterm over the full-screen video",
            typing_video,
            False,
        ),
        Workload("drag", "a 320x240 textured window dragged with button 1 held", drag),
        Workload("scroll", "xterm-like text scrolling 60 lines a second", scroll),
        Workload("windows", "two photo windows raised in turn, twice a second", windows),
        Workload("idle", "an xterm, nothing moving: the cost of doing nothing", idle, False),
    )
}


def screen_of(display: str) -> np.ndarray:
    """The X screen's pixels, read from the X server (GetImage on the root): (h, w)
    0x00RRGGBB."""
    conn = xcffib.connect(display=display)
    try:
        screen = conn.get_setup().roots[0]
        width, height = screen.width_in_pixels, screen.height_in_pixels
        reply = conn.core.GetImage(
            xp.ImageFormat.ZPixmap, screen.root, 0, 0, width, height, 0xFFFFFFFF
        ).reply()
        pixels = np.frombuffer(bytes(reply.data.buf()), dtype=np.uint32)
        return pixels.reshape(height, width) & 0xFFFFFF
    finally:
        conn.disconnect()
