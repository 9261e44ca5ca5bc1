"""Our side of a side-by-side run, and what every benchmark measures servers with.

``start_ours`` starts an Xvfb and ``spice-server x11`` exporting it, the counterpart of
``xspice.start_xspice``; ``cpu_seconds`` reads a process's CPU time from /proc.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_ours(
    display: int, port: int, width: int, height: int
) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Xvfb on ``display`` and our server exporting it on ``port``, both ready."""
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    ours = subprocess.Popen(
        [sys.executable, "-m", "spice_server", "x11", f"--display=:{display}", f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    return xvfb, ours
