"""The demo's devices: keyboard, mouse, tablet, speaker and microphone.

They turn what the server calls into events for the demo (``DemoEvents``: keys with the
text they type, pointer moves, buttons, the wheel, the microphone's level); ``DemoSound``
plays a short note for each key and click and handles the volume, mute and microphone
keys. None of them draws: the desktop keeps the state, the scene draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ...interfaces.keyboard import KeyboardInterface
from ...interfaces.mouse import MouseInterface
from ...interfaces.playback import PlaybackInterface
from ...interfaces.record import RecordInterface
from ...interfaces.tablet import TabletInterface
from ...protocol.constants import KeyboardModifier
from .. import tones
from ..scancodes import EXTENDED, KeyboardState, KeyEvent, ScancodeDecoder

AUDIO_RATE = 48000
NOTE_SECONDS = 0.12
SILENCE_BEFORE_STOP = 0.5  # playback stops this long after the last note
MAX_NOTES_AHEAD = 0.5  # seconds of notes queued beyond now; keys faster than that are silent
VOLUME_STEP = 0.1
VOLUME_UP, VOLUME_DOWN, MUTE, MICROPHONE = (EXTENDED | c for c in (0x49, 0x51, 0x4F, 0x52))


class DemoEvents(Protocol):
    """What the devices tell the demo (on the server's loop)."""

    def key(self, event: KeyEvent, text: str | None) -> None: ...
    def pointer_at(self, x: int, y: int) -> None: ...
    def pointer_moved_by(self, dx: int, dy: int) -> None: ...
    def buttons(self, state: int) -> None: ...
    def wheel(self, dz: int) -> None: ...
    def heard(self, level: float) -> None: ...


class DemoKeyboard(KeyboardInterface):
    """Decodes scancodes with a US layout; the lock keys' LEDs follow."""

    def __init__(self, events: DemoEvents) -> None:
        self.events = events
        self.decoder = ScancodeDecoder()
        self.state = KeyboardState()

    def push_scan_freq(self, frag: int) -> None:
        event = self.decoder.feed(frag)
        if event is None:
            return
        if self.state.apply(event):
            self.set_leds(self.state.locks)
        self.events.key(event, self.state.text(event))

    def get_leds(self) -> KeyboardModifier:
        return self.state.locks


class DemoMouse(MouseInterface):
    def __init__(self, events: DemoEvents) -> None:
        self.events = events

    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        self.events.pointer_moved_by(dx, dy)
        if dz:
            self.events.wheel(dz)
        self.events.buttons(buttons_state)

    def buttons(self, buttons_state: int) -> None:
        self.events.buttons(buttons_state)


class DemoTablet(TabletInterface):
    def __init__(self, events: DemoEvents) -> None:
        self.events = events

    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        self.events.pointer_at(x, y)
        self.events.buttons(buttons_state)

    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        self.events.wheel(wheel_motion)

    def buttons(self, buttons_state: int) -> None:
        self.events.buttons(buttons_state)


class DemoMicrophone(RecordInterface):
    def __init__(self, events: DemoEvents) -> None:
        super().__init__(AUDIO_RATE)
        self.events = events

    def client_samples(self, pcm: bytes, time: int) -> None:
        self.events.heard(tones.level(pcm))

    def client_stop(self) -> None:
        self.events.heard(0.0)


class DemoSound:
    """The speaker's notes and volume, and whether the microphone records."""

    def __init__(self, microphone: DemoMicrophone, clock: Callable[[], float]) -> None:
        self.speaker = PlaybackInterface(AUDIO_RATE)
        self.microphone = microphone
        self.clock = clock
        self.volume = 0.7
        self.muted = False
        self.mic_level = 0.0
        self._sound_until = 0.0
        self.speaker.set_volume(self._levels())

    def play_note(self, index: int) -> None:
        """A short note, queued after what is still playing; none when half a second of
        notes already waits (a client can send thousands of keys at once, and each note
        costs encoding for every client)."""
        if self._sound_until - self.clock() > MAX_NOTES_AHEAD:
            return
        self.speaker.push(tones.beep(tones.note(index), NOTE_SECONDS, AUDIO_RATE))
        self._sound_until = max(self._sound_until, self.clock()) + NOTE_SECONDS

    def key(self, code: int) -> bool:
        """Volume, mute and microphone keys; True if ``code`` was one of them."""
        if code in (VOLUME_UP, VOLUME_DOWN):
            step = VOLUME_STEP if code == VOLUME_UP else -VOLUME_STEP
            self.volume = round(min(1.0, max(0.0, self.volume + step)), 1)
            self.speaker.set_volume(self._levels())
        elif code == MUTE:
            self.muted = not self.muted
            self.speaker.set_mute(self.muted)
        elif code == MICROPHONE:
            if self.microphone.active:
                self.microphone.stop()
                self.mic_level = 0.0
            else:
                self.microphone.start()
        else:
            return False
        return True

    def heard(self, level: float) -> None:
        """A microphone frame's level: the meter jumps up and falls back slowly."""
        self.mic_level = max(level, self.mic_level * 0.9)

    def tick(self) -> None:
        """Stop playback once the notes are over, so clients close their sound device."""
        if self.speaker.active and self.clock() > self._sound_until + SILENCE_BEFORE_STOP:
            self.speaker.stop()

    def _levels(self) -> list[int]:
        return [round(self.volume * 0xFFFF)] * 2
