"""The desktop's sound: what the default PulseAudio or PipeWire sink plays, to the clients.

``parec`` (Debian's pulseaudio-utils) records the sink's monitor; it speaks the PulseAudio
protocol, which PipeWire serves too (pipewire-pulse). It runs as a child process whose
output a thread reads and pushes into the playback interface, so nothing blocks the
server's loop. Sound is optional: without parec the desktop is shared silently, and the
log says why.

Silence is sound: a pause inside a sound is pushed like any other samples, so every gap
keeps its length and place at the client (skipping it would join the sounds up, and the
client's buffer would run dry and grow). Only after half a second of unbroken silence does
playback stop; the next sound starts it again, and the capture says how many samples of
silence passed (parec's stream never stops), so it is stamped exactly that long after the
last sound; its latency is what it is at first.

The sound server may start after us, restart, or change its default sink while we run:
parec is started again whenever it exits (after a pause that doubles up to two seconds
while it keeps failing; the first failure is logged, and the recovery), and ``pactl
subscribe`` tells when the server's default sink changes, which restarts parec on the new
sink's monitor.
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
FIRST_RETRY = 0.25  # seconds before starting parec again after it failed
LAST_RETRY = 2.0  # the pause doubles up to this while parec keeps failing


class DesktopSound:
    """Captures the monitor of the default sink into ``playback`` while started."""

    def __init__(
        self,
        playback: PlaybackInterface,
        device: str = "@DEFAULT_MONITOR@",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds, read on the capture thread) times how long parec ran."""
        self.playback = playback
        self.clock = clock
        self.device = device
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._failing = False  # parec failed, and has not recorded anything since

    def start(self) -> bool:
        """Start capturing; False (with a log line saying why) when it cannot."""
        parec = shutil.which("parec")
        if parec is None:
            log.warning(
                "desktop sound is not captured: parec was not found "
                "(install pulseaudio-utils; PulseAudio or PipeWire must be running)"
            )
            return False
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(parec,), name="desktop-sound", daemon=True
        )
        self._thread.start()
        log.info("capturing desktop sound from %s", self.device)
        return True

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None:
            _end(process)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -- the capture thread ----------------------------------------------------------------

    def _run(self, parec: str) -> None:
        """Run parec again and again until stopped, pausing longer while it keeps failing."""
        retry = FIRST_RETRY
        while not self._stopping.is_set():
            started = self.clock()
            status, detail, heard = self._capture(parec)
            if self._stopping.is_set():
                break
            if heard or self.clock() - started >= STARTUP_SECONDS:
                retry = FIRST_RETRY
            if status is None:  # ended by us: the default sink changed
                continue
            when = "at start" if self.clock() - started < STARTUP_SECONDS else "later"
            if not self._failing:
                log.warning(
                    "desktop sound is not captured: parec exited %s with status %s (%s); "
                    "trying again until a sound server answers",
                    when,
                    status,
                    detail or "no message",
                )
            self._failing = True
            self._stopping.wait(retry)
            retry = min(retry * 2, LAST_RETRY)

    def _capture(self, parec: str) -> tuple[int | None, str, bool]:
        """One run of parec: (its exit status, or None when we ended it; its message;
        whether it delivered any sound)."""
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
            return -1, f"cannot run parec: {exc}", False
        with self._lock:
            self._process = process
        if self._stopping.is_set():  # stop() came before the process was known
            _end(process)
        watcher = SinkWatcher(process) if self.device.startswith("@DEFAULT") else None
        try:
            heard = self._read(process)
            status = process.wait()
        finally:
            with self._lock:
                self._process = None
            if watcher is not None:
                watcher.stop()
            if self.playback.active:
                self.playback.stop()
        assert process.stderr is not None
        detail = process.stderr.read().decode(errors="replace").strip()
        if watcher is not None and watcher.ended_parec:
            return None, detail, heard
        return status, detail, heard

    def _read(self, process: subprocess.Popen[bytes]) -> bool:
        """Push what parec records until it exits; whether it recorded anything."""
        assert process.stdout is not None
        stop_after = int(SILENCE_BEFORE_STOP * self.playback.rate) * SAMPLE_BYTES
        silence = 0  # bytes of silence pushed since the last sound
        unsent: int | None = None  # bytes of silence since playback stopped (None: no run yet)
        heard = False
        while True:
            chunk = process.stdout.read(READ_BYTES)
            if not chunk:
                return heard
            if not heard and self._failing:
                log.info("desktop sound: capturing again")
                self._failing = False
            heard = True
            chunk = chunk[: len(chunk) - len(chunk) % SAMPLE_BYTES]
            if any(chunk):
                if not self.playback.active:
                    self.playback.start(None if unsent is None else unsent // SAMPLE_BYTES)
                silence = 0
                self.playback.push(chunk)
            elif self.playback.active:
                if silence >= stop_after:
                    self.playback.stop()
                    unsent = len(chunk)
                else:
                    silence += len(chunk)
                    self.playback.push(chunk)
            elif unsent is not None:
                unsent += len(chunk)


class SinkWatcher:
    """Ends ``parec`` when the sound server's default sink changes, so it is started again
    on the new one's monitor (parec resolves @DEFAULT_MONITOR@ once, when it connects).

    ``pactl subscribe`` reports every change of the server's settings; the default sink's
    name is compared on each. Without pactl nothing is watched.
    """

    def __init__(self, parec: subprocess.Popen[bytes]) -> None:
        self.parec = parec
        self.ended_parec = False
        self._sink = _default_sink()
        self._subscriber: subprocess.Popen[bytes] | None = None
        pactl = shutil.which("pactl")
        if pactl is None or self._sink is None:
            return
        try:
            self._subscriber = subprocess.Popen(
                [pactl, "subscribe"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError:
            return
        threading.Thread(target=self._watch, name="desktop-sound-sink", daemon=True).start()

    def _watch(self) -> None:
        subscriber = self._subscriber
        assert subscriber is not None and subscriber.stdout is not None
        for line in subscriber.stdout:
            if b" on server" not in line:
                continue
            sink = _default_sink()
            if sink is not None and sink != self._sink:
                log.info("desktop sound: the default sink is now %s", sink)
                self.ended_parec = True
                _end(self.parec)
                return

    def stop(self) -> None:
        if self._subscriber is not None:
            _end(self._subscriber)


def _default_sink() -> str | None:
    try:
        done = subprocess.run(
            ["pactl", "get-default-sink"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    name = done.stdout.decode(errors="replace").strip()
    return name if done.returncode == 0 and name else None


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
