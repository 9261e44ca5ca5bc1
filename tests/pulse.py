"""A private PulseAudio sound server for the desktop-sound tests.

It runs as a child of the test, with its own runtime directory and socket, no
configuration files, and a null sink at 48000 Hz as the default sink (its monitor is what
the x11 back end records), so the tests hear exactly what they play and nothing of the
machine's own sound. ``restart`` kills it and starts it again on the same socket, as a
user's sound server restarting would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from harness import wait_until

RATE = 48000


class PulseAudio:
    def __init__(self, directory: Path) -> None:
        for program in ("pulseaudio", "parec", "paplay", "pactl"):
            if shutil.which(program) is None:
                raise RuntimeError(
                    f"{program} is missing: install Debian's pulseaudio and pulseaudio-utils"
                )
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.socket = directory / "native"
        self.env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(directory / "runtime"),
            "PULSE_STATE_PATH": str(directory / "state"),
            "PULSE_COOKIE": str(directory / "cookie"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "pulseaudio.log"

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env, "HOME": str(self.directory)}

    def start(self) -> None:
        sinks = [f"module-null-sink sink_name={name} rate={RATE}" for name in ("one", "two")]
        command = [
            "pulseaudio",
            "-n",  # no default.pa: only the modules below
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            "--log-target=stderr",
            *[arg for sink in sinks for arg in ("-L", sink)],
            "-L",
            f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.environ(), stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self.ready, timeout=10, what="PulseAudio answering")
        self.pactl("set-default-sink", "one")

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"PulseAudio exited: {self.log.read_text()[-2000:]}")
        return (
            subprocess.run(
                ["pactl", "info"], env=self.environ(), capture_output=True, check=False
            ).returncode
            == 0
        )

    def pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self.environ(), capture_output=True, check=True, text=True
        ).stdout

    def play(self, wav: Path, device: str | None = None) -> subprocess.Popen[bytes]:
        """paplay the file (on the default sink unless ``device``); returns at once."""
        command = ["paplay", "--latency-msec=100", str(wav)]
        if device is not None:
            command.insert(1, f"--device={device}")
        return subprocess.Popen(command, env=self.environ())

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        # Wait until the socket is really gone, as after a crash of the sound server.
        deadline = time.monotonic() + 5
        while self.socket.exists() and time.monotonic() < deadline:
            try:
                self.socket.unlink()
            except FileNotFoundError:
                break

    def restart(self) -> None:
        self.stop()
        self.start()
