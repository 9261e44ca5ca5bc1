"""The playback interface: a sound card the back end plays into.

Like libspice's playback interface it has no callbacks: the back end drives it. It calls
``start()``, pushes 16-bit stereo PCM at the interface's rate with ``push()``, and calls
``stop()`` when the sound ends; ``set_volume`` and ``set_mute`` pass its mixer's state on
to the clients, which apply it to what they play.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import numpy as np

from ..audio import CHANNELS, SAMPLE_BYTES
from ..core.ratelog import RateLimitedLog
from .audio import AudioInterface
from .events import AudioData, AudioQueued, AudioStart

log = logging.getLogger(__name__)

MAX_QUEUED_SECONDS = 2.0


class PlaybackInterface(AudioInterface):
    """Push PCM here from any thread, at the pace it should play.

    Pushing ahead of real time is allowed (the frames are stamped on the media clock as
    the audio will play, and clients buffer them); more than two seconds waiting for the
    server's loop is dropped, oldest first, so a stalled loop cannot eat memory.
    """

    type: ClassVar[str] = "playback"
    description: ClassVar[str] = "playback"

    def __init__(self, rate: int = 48000) -> None:
        super().__init__(rate)
        self._queued = 0
        self.dropped_bytes = 0
        self._quiet_log = RateLimitedLog(log, time.monotonic)  # back end threads: no loop clock

    def start(self, silence: int | None = None) -> None:
        """Audio starts flowing. ``silence``: how many samples of silence (not pushed)
        passed since the last sample of the previous run, if the back end's sound kept
        its clock meanwhile: the new run keeps its place after the old one."""
        self._post(AudioStart(silence), active=True)

    def push(self, samples: bytes | bytearray | memoryview | np.ndarray) -> None:
        """Queue PCM: S16LE interleaved stereo bytes, or an int16 array of shape (n, 2).

        Pushing while stopped starts playback. Nothing is kept while the interface is not
        registered with a server.
        """
        pcm = _pcm_bytes(samples)
        if not pcm:
            return
        if not self.active:
            self.start()
        limit = int(MAX_QUEUED_SECONDS * self.rate) * SAMPLE_BYTES
        with self._lock:
            if self._notify is None:
                return
            self._events.append(AudioData(pcm))
            self._queued += len(pcm)
            dropped = 0
            while self._queued > limit:
                size = self._drop_oldest_data()
                if not size:
                    break
                dropped += size
        if dropped:
            self.dropped_bytes += dropped
            # Each push of a stalled loop says it again: one line per interval is enough.
            self._quiet_log.warning(
                "playback: the server is not taking audio; dropped %d bytes", dropped
            )
        self._changed(AudioQueued())

    def _drop_oldest_data(self) -> int:
        for index, event in enumerate(self._events):
            if isinstance(event, AudioData):
                del self._events[index]
                self._queued -= len(event.pcm)
                return len(event.pcm)
        return 0


def _pcm_bytes(samples: bytes | bytearray | memoryview | np.ndarray) -> bytes:
    if isinstance(samples, np.ndarray):
        if samples.ndim == 2 and samples.shape[1] != CHANNELS:
            raise ValueError(f"samples of shape {samples.shape}: (n, {CHANNELS}) expected")
        if samples.dtype != np.int16:
            raise ValueError(f"samples of type {samples.dtype}: int16 expected")
        return np.ascontiguousarray(samples, dtype="<i2").tobytes()
    pcm = bytes(samples)
    if len(pcm) % SAMPLE_BYTES:
        raise ValueError(f"{len(pcm)} bytes of PCM: whole stereo 16-bit samples expected")
    return pcm
