"""The servers a benchmark compares, started the same way every time, and what is measured
on their processes.

``start_ours`` starts an Xvfb and ``spice-server x11`` exporting it, the counterpart of
``xspice.start_xspice``; ``start`` wraps either as a ``ServerUnderTest`` that says which
process to charge CPU time to. ``cpu_seconds`` reads a process's CPU time from /proc;
``free_display`` picks an X display number nobody holds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xspice import start_xspice

DISPLAYS = range(600, 700)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_display(taken: Sequence[int] = ()) -> int:
    """A display number in 600-699 with neither a lock file nor a socket (other programs
    on this machine start X servers too)."""
    for number in DISPLAYS:
        if number in taken:
            continue
        if not (
            Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise RuntimeError("no free X display in 600-699")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(
    ready: Sequence[subprocess.Popen], check: Callable[[], bool], what: str, timeout: float
) -> None:
    """Poll ``check()`` until true; fail early if a process in ``ready`` died."""
    deadline = time.monotonic() + timeout
    while not check():
        for proc in ready:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: process {proc.args!r} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout} s")
        time.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_ours(
    display: int,
    port: int,
    width: int,
    height: int,
    extra_args: Sequence[str] = (),
    log: Path | None = None,
) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Xvfb on ``display`` and our server exporting it on ``port``, both ready; the
    server's log goes to ``log`` when given."""
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for([xvfb], Path(f"/tmp/.X11-unix/X{display}").exists, "Xvfb", 15)
        ours = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spice_server",
                "x11",
                f"--display=:{display}",
                f"--port={port}",
                *extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab") if log is not None else subprocess.DEVNULL,
        )
    except BaseException:
        xvfb.kill()  # a run that fails to start leaves no X server behind
        raise
    try:
        wait_for([xvfb, ours], lambda: listening(port), "spice-server x11", 20)
    except BaseException:
        for proc in (ours, xvfb):
            proc.kill()
        raise
    return xvfb, ours


@dataclass
class ServerUnderTest:
    """One of the compared servers, running: its X display, its SPICE port, and the
    process whose CPU time is its cost (for Xspice the X server itself, drawing included;
    for ours the SPICE server alone, with Xvfb's time kept apart)."""

    name: str
    display: str
    port: int
    server_pid: int
    xserver_pid: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start(
    name: str,
    tmp: Path,
    width: int,
    height: int,
    ours_args: Sequence[str] = (),
    xspice_options: dict[str, str] | None = None,
    taken: Sequence[int] = (),
) -> ServerUnderTest:
    """``name`` is "ours" or "xspice"; ``ours_args`` go to ``spice-server x11``,
    ``xspice_options`` into Xspice's driver section; ``taken`` are display numbers in use."""
    display, port = free_display(taken), free_port()
    if name == "xspice":
        xorg, _ = start_xspice(tmp, port, display, width, height, False, xspice_options)
        wait_for([xorg], Path(f"/tmp/.X11-unix/X{display}").exists, "Xspice's X server", 15)
        return ServerUnderTest(name, f":{display}", port, xorg.pid, xorg.pid, [xorg])
    log = tmp / f"ours-{port}.log"
    xvfb, ours = start_ours(display, port, width, height, ours_args, log)
    return ServerUnderTest(name, f":{display}", port, ours.pid, xvfb.pid, [xvfb, ours])
