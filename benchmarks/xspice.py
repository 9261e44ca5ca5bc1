"""Run libspice-server as a reference: Xspice, the X server whose screen it serves."""

from __future__ import annotations

import shutil
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


def start_xspice(
    tmp: Path, port: int, display: int, width: int, height: int, xterm: bool = True
) -> tuple[subprocess.Popen, subprocess.Popen | None]:
    """Xorg with the spiceqxl driver on ``display``, serving SPICE on ``port``."""
    if (
        shutil.which("Xorg") is None
        or not Path("/usr/lib/xorg/modules/drivers/spiceqxl_drv.so").exists()
    ):
        sys.exit("Xspice is missing: apt-get install xserver-xspice xterm")
    conf = tmp / "xspice.conf"
    conf.write_text(XSPICE_CONF.format(port=port, width=width, height=height))
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
    time.sleep(3)
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
