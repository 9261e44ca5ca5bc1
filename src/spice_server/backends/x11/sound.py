"""The desktop's sound: what the default PulseAudio or PipeWire sink plays, to the clients.

``parec`` (Debian's pulseaudio-utils) records the sink's monitor; it speaks the PulseAudio
protocol, which PipeWire serves too (pipewire-pulse). It runs as a child process whose
output a thread reads and pushes into the playback interface, so nothing blocks the
server's loop. Sound is optional: without parec or a sound server the desktop is shared
silently, and the log says why.

Silence is sound: a pause inside a sound is pushed like any other samples, so every gap
keeps its length and place at the client (skipping it would join the sounds up, and the
client's buffer would run dry and grow). Only after half a second of unbroken silence does
playback stop; the next sound starts it again, stamped with the time it arrives, so the
latency after a silence is what it is at first.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable

from ...audio import FRAME_BYTES, SAMPLE_BYTES
from ...interfaces.playback import PlaybackInterface

log = logging.getLogger(__name__)

READ_BYTES = 2 * FRAME_BYTES  # 20 ms at 48000 Hz
SILENCE_BEFORE_STOP = 0.5
STARTUP_SECONDS = 1.0  # parec that exits this soon could not reach a sound server


class DesktopSound:
    """Captures the monitor of the default sink into ``playback`` while started."""

    def __init__(
        self,
        playback: PlaybackInterface,
        device: str = "@DEFAULT_MONITOR@",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds, read on the reader thread) times failures."""
        self.playback = playback
        self.clock = clock
        self.device = device
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> bool:
        """Start capturing; False (with a log line saying why) when it cannot."""
        parec = shutil.which("parec")
        if parec is None:
            log.warning(
                "desktop sound is not captured: parec was not found "
                "(install pulseaudio-utils; PulseAudio or PipeWire must be running)"
            )
            return False
        command = [
            parec,
            f"--device={self.device}",
            "--format=s16le",
            f"--rate={self.playback.rate}",
            "--channels=2",
            "--raw",
            "--latency-msec=20",
        ]
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            log.warning("desktop sound is not captured: cannot run parec (%s)", exc)
            return False
        self._process = process
        self._reader = threading.Thread(target=self._read, name="desktop-sound", daemon=True)
        self._reader.start()
        log.info("capturing desktop sound from %s", self.device)
        return True

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(2)
            self._reader = None

    def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        started = self.clock()
        stop_after = int(SILENCE_BEFORE_STOP * self.playback.rate) * SAMPLE_BYTES
        silence = 0  # bytes of silence pushed since the last sound
        while True:
            chunk = process.stdout.read(READ_BYTES)
            if not chunk:
                break
            chunk = chunk[: len(chunk) - len(chunk) % SAMPLE_BYTES]
            if any(chunk):
                silence = 0
                self.playback.push(chunk)
            elif self.playback.active:
                if silence >= stop_after:
                    self.playback.stop()
                else:
                    silence += len(chunk)
                    self.playback.push(chunk)
        status = process.wait()
        if self._process is process:  # not stopped by us: parec gave up
            detail = process.stderr.read().decode(errors="replace").strip()
            when = "at start" if self.clock() - started < STARTUP_SECONDS else "later"
            log.warning(
                "desktop sound is not captured: parec exited %s with status %s (%s)",
                when,
                status,
                detail or "no message",
            )
        if self.playback.active:
            self.playback.stop()
