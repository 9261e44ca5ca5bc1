"""Run libspice-server as a reference: Xspice, the X server whose screen it serves."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

XSPICE_CONF = """
Section "Device"
    Identifier "XSPICE"
    Driver "spiceqxl"
    Option "SpicePort" "{port}"
    Option "SpiceDisableTicketing" "True"
    Option "FrameBufferSize" "16"
    Option "SurfaceBufferSize" "128"
    Option "CommandBufferSize" "128"
    Option "NumHeads" "1"
{options}
EndSection
Section "InputDevice"
    Identifier "XSPICE POINTER"
    Driver "xspice pointer"
EndSection
Section "InputDevice"
    Identifier "XSPICE KEYBOARD"
    Driver "xspice keyboard"
EndSection
Section "Monitor"
    Identifier "Monitor"
EndSection
Section "Screen"
    Identifier "Screen"
    Monitor "Monitor"
    Device "XSPICE"
    DefaultDepth 24
    SubSection "Display"
        Virtual {width} {height}
    EndSubSection
EndSection
Section "ServerLayout"
    Identifier "Layout"
    Screen "Screen"
    InputDevice "XSPICE KEYBOARD"
    InputDevice "XSPICE POINTER"
EndSection
Section "ServerFlags"
    Option "AutoAddDevices" "False"
EndSection
"""


def wait_until_serving(xorg: subprocess.Popen, port: int, timeout: float = 20) -> None:
    """Xorg loads the driver, which starts libspice-server listening: that is ready."""
    deadline = time.monotonic() + timeout
    while xorg.poll() is None and time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"Xspice is not serving on port {port} (Xorg exit status {xorg.poll()})")


def start_xspice(
    tmp: Path,
    port: int,
    display: int,
    width: int,
    height: int,
    xterm: bool = True,
    options: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, subprocess.Popen | None]:
    """Xorg with the spiceqxl driver on ``display``, serving SPICE on ``port``; ``options``
    are more of the driver's options (e.g. {"SpiceStreamingVideo": "off"})."""
    if (
        shutil.which("Xorg") is None
        or not Path("/usr/lib/xorg/modules/drivers/spiceqxl_drv.so").exists()
    ):
        sys.exit("Xspice is missing: apt-get install xserver-xspice xterm")
    conf = tmp / "xspice.conf"
    extra = "\n".join(f'    Option "{key}" "{value}"' for key, value in (options or {}).items())
    conf.write_text(XSPICE_CONF.format(port=port, width=width, height=height, options=extra))
    xorg = subprocess.Popen(
        [
            "Xorg",
            "-config",
            str(conf),
            "-noreset",
            "-logfile",
            str(tmp / "xorg.log"),
            f":{display}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_serving(xorg, port)
    if not xterm:
        return xorg, None
    terminal = subprocess.Popen(
        ["xterm", "-geometry", "80x24+40+40"],
        env={"DISPLAY": f":{display}", "PATH": "/usr/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    return xorg, terminal
