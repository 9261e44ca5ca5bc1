"""A private X server and a program on it: the desktop of ``spice-server session``.

On a headless machine the user wants a desktop, not the steps to make one: start an X
server, run a program on it, export it, and clean all of it up when the program ends.
Xorg with the dummy driver is preferred: it changes its screen to any size a client's
window asks for (up to 4096x2160 here). Without it, or when it does not start, Xvfb is
used: it can only shrink below the size it starts with, so it starts that large and is
shrunk to the size asked for. Either picks a free display number itself (-displayfd).

The keyboard gets evdev keycodes and a US layout (setxkbmap), as clients' keys arrive.
The program is the given command, else the user's ~/.xsession when it is executable,
else a terminal. It runs in a process group of its own, so ending the session ends
whatever it started too.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import xcffib
import xcffib.randr

from ...core.base import Core, Timer
from .connection import X11Error
from .desktop import X11Desktop
from .randr import RandrError, randr_resize

log = logging.getLogger(__name__)

XServerChoice = Literal["auto", "xorg", "xvfb"]
LARGEST = (4096, 2160)  # the largest screen a client may ask for
START_SECONDS = 15.0  # for the X server to say its display number
WATCH_MS = 200  # how often the command is checked for having ended
DUMMY_DRIVER_DIRS = ("/usr/lib/xorg/modules/drivers", "/usr/lib64/xorg/modules/drivers")

DUMMY_CONFIG = """\
Section "Monitor"
    Identifier "Monitor0"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-1000.0
EndSection
Section "Device"
    Identifier "Card0"
    Driver "dummy"
    VideoRam {video_ram}
EndSection
Section "Screen"
    Identifier "Screen0"
    Device "Card0"
    Monitor "Monitor0"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Virtual {largest_width} {largest_height}
    EndSubSection
EndSection
Section "ServerFlags"
    Option "AutoAddDevices" "False"
    Option "DontVTSwitch" "True"
EndSection
"""


def parse_size(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800); ValueError with the reason otherwise."""
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise ValueError(f"size {text!r}: WIDTHxHEIGHT expected, e.g. 1280x800")
    size = int(width), int(height)
    if not (64 <= size[0] <= LARGEST[0] and 64 <= size[1] <= LARGEST[1]):
        raise ValueError(f"size {text!r}: from 64x64 to {LARGEST[0]}x{LARGEST[1]}")
    return size


def default_command() -> list[str]:
    """The user's session script if there is one, else a terminal."""
    script = Path.home() / ".xsession"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    for terminal in ("x-terminal-emulator", "xterm"):
        found = shutil.which(terminal)
        if found is not None:
            return [found]
    raise X11Error("no command given, no ~/.xsession and no terminal (install xterm)")


class XSession:
    """Starts the X server and the command; ``close`` ends both."""

    def __init__(
        self, size: tuple[int, int], command: Sequence[str], x_server: XServerChoice = "auto"
    ) -> None:
        """``x_server``: "xorg" (with the dummy driver), "xvfb", or "auto" (Xorg when it
        can, else Xvfb)."""
        self.size = size
        self.command = list(command)
        self.x_server = x_server
        self.display = ""
        self.server_kind = ""
        self._dir = Path(tempfile.mkdtemp(prefix="spice-session-"))
        self._x: subprocess.Popen[bytes] | None = None
        self._program: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start X and the command on it (X11Error saying why when it cannot)."""
        if shutil.which(self.command[0]) is None:
            raise X11Error(f"cannot run {self.command[0]!r}: not found")
        try:
            xorg = _dummy_driver() and shutil.which("Xorg") is not None
            if self.x_server == "xorg" and not xorg:
                raise X11Error("Xorg with the dummy driver is not installed")
            if self.x_server == "xorg" or (self.x_server == "auto" and xorg):
                try:
                    self._start_x("Xorg", self._xorg_args())
                except X11Error as exc:
                    if self.x_server == "xorg":
                        raise
                    log.warning("Xorg with the dummy driver did not start (%s): using Xvfb", exc)
            if self._x is None:
                if shutil.which("Xvfb") is None:
                    raise X11Error("neither Xorg's dummy driver nor Xvfb is installed")
                self._start_x("Xvfb", self._xvfb_args())
            self._set_size()
            env = dict(os.environ, DISPLAY=self.display)
            _set_evdev_keymap(env)
            self._program = subprocess.Popen(self.command, env=env, start_new_session=True)
        except BaseException:
            self.close()
            raise
        log.info(
            "session on %s (%s, %dx%d) running %s",
            self.display,
            self.server_kind,
            *self.size,
            " ".join(self.command),
        )

    def ended(self) -> int | None:
        """The command's exit status once it has ended, else None."""
        return None if self._program is None else self._program.poll()

    def close(self) -> None:
        """End the command (its whole process group) and the X server; forget the files."""
        program, self._program = self._program, None
        if program is not None:
            _end(program, group=True)
        x, self._x = self._x, None
        if x is not None:
            _end(x, group=False)
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- the X server ----------------------------------------------------------------------

    def _xorg_args(self) -> list[str]:
        width, height = LARGEST
        config = self._dir / "xorg.conf"
        video_ram = width * height * 4 // 1024 + 1024  # kB: one screen of the largest
        config.write_text(
            DUMMY_CONFIG.format(video_ram=video_ram, largest_width=width, largest_height=height)
        )
        return ["-config", str(config), "-logfile", str(self._dir / "xorg.log"), "-novtswitch"]

    def _xvfb_args(self) -> list[str]:
        return ["-screen", "0", f"{LARGEST[0]}x{LARGEST[1]}x24"]

    def _start_x(self, kind: str, args: list[str]) -> None:
        read, write = os.pipe()
        try:
            command = [kind, *args, "-noreset", "-nolisten", "tcp", "-displayfd", str(write)]
            process = subprocess.Popen(
                command,
                pass_fds=(write,),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            os.close(write)
            write = -1
            number = _read_display_number(read, process)
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        if number is None:
            _end(process, group=False)
            raise X11Error(f"{kind} gave no display number within {START_SECONDS:.0f} s")
        self._x, self.server_kind, self.display = process, kind, f":{number}"

    def _set_size(self) -> None:
        """Bring the screen to the size asked for (Xorg starts at some mode, Xvfb large)."""
        try:
            conn = xcffib.connect(display=self.display)
        except xcffib.ConnectionException as exc:
            raise X11Error(f"cannot connect to the session's X server: {exc}") from exc
        try:
            randr = conn(xcffib.randr.key)
            randr.QueryVersion(1, 5).reply()
            root = conn.get_setup().roots[0].root
            randr_resize(conn, randr, root, *self.size)
        except (xcffib.XcffibException, RandrError) as exc:
            raise X11Error(f"cannot set the session's screen to {self.size}: {exc!r}") from exc
        finally:
            conn.disconnect()


def _set_evdev_keymap(env: dict[str, str]) -> None:
    """Xorg without input devices numbers its keys the old XFree86 way; clients' keys
    arrive as evdev codes (keymap.py), so give it the evdev keycodes (and a US layout)."""
    setxkbmap = shutil.which("setxkbmap")
    if setxkbmap is None:
        log.warning("setxkbmap was not found (x11-xkb-utils): keys may come out wrong")
        return
    command = [setxkbmap, "-rules", "evdev", "-model", "pc105", "-layout", "us"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=10, check=False)
    if done.returncode:
        log.warning("setxkbmap failed: %s", done.stderr.decode(errors="replace").strip())


def _dummy_driver() -> bool:
    return any(Path(directory, "dummy_drv.so").exists() for directory in DUMMY_DRIVER_DIRS)


def _read_display_number(fd: int, process: subprocess.Popen[bytes]) -> int | None:
    """The number the X server writes to -displayfd once it is ready, or None."""
    deadline = time.monotonic() + START_SECONDS
    text = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                break
            text += chunk
            if text.endswith(b"\n"):
                break
        elif process.poll() is not None:
            break
    digits = text.strip()
    return int(digits) if digits.isdigit() else None


def _end(process: subprocess.Popen[bytes], *, group: bool) -> None:
    """Terminate (then kill) a child, or the process group it leads, and reap it."""
    if process.poll() is not None and not group:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(5)
            return
        except subprocess.TimeoutExpired:
            continue


class SessionDesktop:
    """The back end of ``spice-server session``: the X11 desktop of the private X server,
    whose end comes with the command's: ``on_ended`` gets its exit status."""

    def __init__(
        self, session: XSession, desktop: X11Desktop, on_ended: Callable[[int], None]
    ) -> None:
        self.session = session
        self.desktop = desktop
        self.on_ended = on_ended
        self._core: Core | None = None
        self._timer: Timer | None = None

    def start(self, core: Core) -> None:
        self._core = core
        self.desktop.start(core)
        self._timer = core.timer_add(self._watch)
        core.timer_start(self._timer, WATCH_MS)

    def _watch(self, opaque: object) -> None:
        status = self.session.ended()
        if status is None:
            if self._core is not None and self._timer is not None:
                self._core.timer_start(self._timer, WATCH_MS)
            return
        log.info("the session's command ended with status %d: the session ends", status)
        self.on_ended(status)
