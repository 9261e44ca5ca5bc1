"""Real X servers for the x11 back end's tests: Xvfb, and Xorg with the dummy driver.

Xvfb cannot change its screen size through RandR; Xorg's dummy driver can, so the resize
tests use it. Both pick a free display number themselves (-displayfd) and have no TCP
listener. Also here: a second X client that draws (``Painter``) and a core driven by hand
(``HandCore``).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import xcffib
import xcffib.xproto

from spice_server.core.base import Core, EventMask, Timer, TimerFunc, Watch, WatchFunc
from spice_server.protocol.rect import Rect

DUMMY_CONFIG = """
Section "Monitor"
    Identifier "Monitor0"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-1000.0
EndSection
Section "Device"
    Identifier "Card0"
    Driver "dummy"
    VideoRam 256000
EndSection
Section "Screen"
    Identifier "Screen0"
    Device "Card0"
    Monitor "Monitor0"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Modes "{width}x{height}"
        Virtual 2560 1600
    EndSubSection
EndSection
Section "ServerFlags"
    Option "AutoAddDevices" "False"
    Option "DontVTSwitch" "True"
EndSection
"""


def read_display_number(fd: int, proc: subprocess.Popen, kind: str) -> int:
    """The number an X server started with -displayfd writes once it accepts clients."""
    deadline = time.monotonic() + 20
    text = b""
    while not text.endswith(b"\n"):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{kind} did not start")
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 16)
            if not chunk:
                raise RuntimeError(f"{kind} did not start")
            text += chunk
    return int(text)


class XServer:
    """An X server of the test's own. It picks a free display number itself
    (-displayfd): tests running side by side cannot end up sharing one."""

    def __init__(
        self, tmpdir: Path, kind: str = "xvfb", width: int = 1024, height: int = 768
    ) -> None:
        self.children: list[subprocess.Popen] = []
        if kind == "xvfb":
            binary = shutil.which("Xvfb")
            assert binary, "Xvfb is missing: install the Debian package xvfb"
            args = [binary, "-screen", "0", f"{width}x{height}x24"]
        else:
            binary = shutil.which("Xorg")
            assert binary and Path("/usr/lib/xorg/modules/drivers/dummy_drv.so").exists(), (
                "Xorg's dummy driver is missing: install xserver-xorg-video-dummy"
            )
            fd, path = tempfile.mkstemp(prefix="dummy-", suffix=".conf", dir=tmpdir)
            os.close(fd)
            config = Path(path)
            config.write_text(DUMMY_CONFIG.format(width=width, height=height))
            log = tmpdir / f"xorg-{config.stem}.log"
            args = [binary, "-config", str(config), "-logfile", str(log)]
        read, write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*args, "-nolisten", "tcp", "-noreset", "-displayfd", str(write)],
                pass_fds=(write,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        finally:
            os.close(write)
        try:
            self.number = read_display_number(read, self.proc, kind)
        except BaseException:
            self.proc.kill()
            self.proc.wait(10)
            raise
        finally:
            os.close(read)
        self.name = f":{self.number}"
        self.env = dict(os.environ, DISPLAY=self.name)

    def run(self, *args: str, **kwargs: object) -> subprocess.Popen:
        """Start an X program on this server; it is killed with the server."""
        child = subprocess.Popen(
            args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
        )  # type: ignore[call-overload]
        self.children.append(child)
        return child

    def output(self, *args: str, input: bytes | None = None, timeout: float = 10) -> bytes:
        return subprocess.run(
            args, env=self.env, input=input, capture_output=True, timeout=timeout, check=True
        ).stdout

    def kill(self) -> None:
        for child in self.children:
            child.kill()
            child.wait(5)
        self.children.clear()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Painter:
    """A second X client that fills rectangles on the root window."""

    def __init__(self, name: str) -> None:
        self.conn = xcffib.connect(display=name)
        self.root = self.conn.get_setup().roots[0].root
        self.gc = self.conn.generate_id()
        self.conn.core.CreateGC(self.gc, self.root, xcffib.xproto.GC.Foreground, [0x336699])

    def fill(self, rect: Rect) -> None:
        box = xcffib.xproto.RECTANGLE.synthetic(rect.left, rect.top, rect.width, rect.height)
        self.conn.core.PolyFillRectangle(self.root, self.gc, 1, [box])
        self.conn.core.GetInputFocus().reply()  # drawn once this returns


class HandCore(Core):
    """A core whose timers fire only when the test says so; watches are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[Timer, int] = {}

    def timer_add(self, func: TimerFunc, opaque: Any = None) -> Timer:
        return Timer(func, opaque)

    def timer_start(self, timer: Timer, ms: int) -> None:
        self.started[timer] = ms

    def timer_cancel(self, timer: Timer) -> None:
        self.started.pop(timer, None)

    def timer_remove(self, timer: Timer) -> None:
        self.started.pop(timer, None)
        timer.release()

    def watch_add(
        self, fd: int, event_mask: EventMask, func: WatchFunc, opaque: Any = None
    ) -> Watch:
        return Watch(fd, event_mask, func, opaque)

    def watch_update_mask(self, watch: Watch, event_mask: EventMask) -> None:
        watch.mask = event_mask

    def watch_remove(self, watch: Watch) -> None:
        watch.release()

    def fire(self) -> None:
        """Fire the timers started so far (the loop would)."""
        started, self.started = self.started, {}
        for timer in started:
            timer.fire()
