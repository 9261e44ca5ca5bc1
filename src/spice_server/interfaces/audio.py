"""What the playback and record interfaces share: a rate, start/stop, volume and mute.

The back end drives these from any thread. Each call is queued as an event, in order, and
the server picks the events up on its own loop, so a quick stop-start or a volume change
between two pushes reaches the clients in the order the back end made them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import ClassVar

from ..audio import RATES
from .base import Interface
from .events import AudioEvent, AudioMute, AudioQueued, AudioStart, AudioStop, AudioVolume


class AudioInterface(Interface):
    """Base of PlaybackInterface and RecordInterface; not registered on its own."""

    major_version: ClassVar[int] = 1
    minor_version: ClassVar[int] = 0

    def __init__(self, rate: int = 48000) -> None:
        if rate not in RATES:
            raise ValueError(f"rate {rate} Hz: SPICE audio runs at {', '.join(map(str, RATES))}")
        self.rate = rate
        self.active = False
        self.volume: tuple[int, ...] | None = None
        self.mute: bool | None = None
        self._lock = threading.Lock()
        self._events: deque[AudioEvent] = deque()
        self._queued = 0  # bytes of PCM in the queued events

    def start(self) -> None:
        """Audio starts flowing (clients are told the format)."""
        self._post(AudioStart(), active=True)

    def stop(self) -> None:
        """Audio stops (clients are told; what was pushed so far still goes out)."""
        self._post(AudioStop(), active=False)

    def set_volume(self, volume: Sequence[int]) -> None:
        """One level per channel, 0 (silent) to 65535 (full), e.g. ``(40000, 40000)``."""
        levels = tuple(int(level) for level in volume)
        if not 1 <= len(levels) <= 255 or not all(0 <= level <= 0xFFFF for level in levels):
            raise ValueError("volume: 1 to 255 levels, each 0 to 65535")
        with self._lock:
            self.volume = levels
        self._post(AudioVolume(levels))

    def set_mute(self, mute: bool) -> None:
        with self._lock:
            self.mute = bool(mute)
        self._post(AudioMute(bool(mute)))

    def _post(self, event: AudioEvent, *, active: bool | None = None) -> None:
        with self._lock:
            if active is not None:
                if active == self.active:
                    return  # a second start (or stop) in a row says nothing new
                self.active = active
            if self._notify is not None:
                self._events.append(event)
        self._changed(AudioQueued())

    def take_events(self) -> list[AudioEvent]:
        """The events since the last call (the server's loop calls this)."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._queued = 0
        return events
