"""The demo desktop: the devices' events kept as state, drawn by the scene on a core timer.

Every FRAME_MS it takes a snapshot of that state (a ``SceneState``) and sends the areas
whose part of it changed, so an idle demo costs little more than its animation.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ...core.base import Core, Timer
from ...interfaces.base import Interface
from ...interfaces.display import Display
from ...server import Server
from ..scancodes import BACKSPACE, KeyEvent, key_name
from .devices import DemoKeyboard, DemoMicrophone, DemoMouse, DemoSound, DemoTablet
from .scene import BUTTON_COLOURS, WHEEL_COLOUR, Colour, Ripple, Scene, SceneState

FRAME_MS = 33
TRAIL_LENGTH = 80
RIPPLE_SECONDS = 0.7
MAX_TEXT = 2000


class DemoDesktop:
    """Owns the demo's interfaces and redraws on a core timer (the caller's loop)."""

    def __init__(
        self,
        server: Server,
        width: int = 1024,
        height: int = 768,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], str] = lambda: time.strftime("%H:%M:%S"),
    ) -> None:
        """``clock`` (seconds) drives the animation and the notes; ``wall_clock`` is the
        time of day shown."""
        self.scene = Scene(width, height)
        self.server = server
        self.clock, self.wall_clock = clock, wall_clock
        self.width, self.height = width, height
        self.display = Display(width, height)
        self.keyboard = DemoKeyboard(self)
        self.mouse = DemoMouse(self)
        self.tablet = DemoTablet(self)
        self.microphone = DemoMicrophone(self)
        self.sound = DemoSound(self.microphone, clock)
        self.text = ""
        self.last_key = "(none yet)"
        self.pointer = (width // 2, height // 2)
        self.trail: deque[tuple[int, int]] = deque(maxlen=TRAIL_LENGTH)
        self.ripples: list[tuple[float, int, int, Colour]] = []  # when, where, colour
        self.pressed = 0
        self.wheel_total = 0
        self.frames = 0
        self._shown: dict[str, object] = {}  # what each area was last drawn from
        self._timer: Timer | None = None
        self._core: Core | None = None
        self._started = clock()
        background = self.scene.background().tobytes("raw", "BGRX")
        self.display.update(background, width=width, diff=False)

    @property
    def mic_level(self) -> float:
        return self.sound.mic_level

    # -- life cycle ----------------------------------------------------------------------

    def start(self, core: Core) -> None:
        """Register the devices with the server and start drawing on ``core``'s timers."""
        for interface in self._interfaces():
            self.server.add_interface(interface)
        self._core = core
        self._timer = core.timer_add(self._tick)
        self._tick(None)

    def stop(self) -> None:
        if self._core is not None and self._timer is not None:
            self._core.timer_remove(self._timer)
        for interface in reversed(self._interfaces()):
            self.server.remove_interface(interface)

    def _interfaces(self) -> list[Interface]:
        return [
            self.display,
            self.keyboard,
            self.mouse,
            self.tablet,
            self.sound.speaker,
            self.microphone,
        ]

    def _tick(self, opaque: object) -> None:
        self.frames += 1
        now = self.clock()
        self.ripples = [r for r in self.ripples if now - r[0] < RIPPLE_SECONDS]
        self.draw(self.snapshot(now))
        self.sound.tick()
        if self._core is not None and self._timer is not None:
            self._core.timer_start(self._timer, FRAME_MS)

    def snapshot(self, now: float) -> SceneState:
        """The state the scene shows, at ``now`` (the clock's)."""
        try:
            address = self.server.uri()
        except Exception:
            address = "(not listening)"
        return SceneState(
            address=address,
            clients=self.server.session_count,
            mouse_mode=self.server.mouse_mode,
            leds=self.keyboard.state.locks,
            text=self.text,
            last_key=self.last_key,
            elapsed=now - self._started,
            clock=self.wall_clock(),
            frame=self.frames,
            trail=tuple(self.trail),
            ripples=tuple(Ripple(now - t0, x, y, colour) for t0, x, y, colour in self.ripples),
            buttons=self.pressed,
            wheel=self.wheel_total,
            volume=self.sound.volume,
            muted=self.sound.muted,
            recording=self.microphone.active,
            mic_level=self.sound.mic_level,
        )

    def draw(self, state: SceneState) -> None:
        """Send the areas whose part of ``state`` changed since they were last drawn."""
        for area, rect in self.scene.areas.items():
            shows = self.scene.shows(area, state)
            if self._shown.get(area) == shows:
                continue
            self._shown[area] = shows
            image = self.scene.paint(area, state).tobytes("raw", "BGRX")
            self.display.update(image, rect.left, rect.top, width=rect.width)

    # -- events from the devices (on the loop thread) -------------------------------------

    def key(self, event: KeyEvent, text: str | None) -> None:
        if event.pressed:
            self.last_key = key_name(event.code)
            if not self.sound.key(event.code):
                self.sound.play_note(event.code)
        if text is not None:
            self.text = (self.text + text)[-MAX_TEXT:]
        elif event.pressed and event.code == BACKSPACE:
            self.text = self.text[:-1]

    def pointer_at(self, x: int, y: int) -> None:
        x = min(max(0, x), self.width - 1)
        y = min(max(0, y), self.height - 1)
        if (x, y) != self.pointer:
            self.pointer = (x, y)
            self.trail.append((x, y))

    def pointer_moved_by(self, dx: int, dy: int) -> None:
        self.pointer_at(self.pointer[0] + dx, self.pointer[1] + dy)
        # In server mouse mode the client draws our cursor where we say it is.
        self.display.move_cursor(*self.pointer)

    def buttons(self, state: int) -> None:
        newly = state & ~self.pressed
        for index, (mask, colour) in enumerate(BUTTON_COLOURS.items()):
            if newly & mask:
                self.ripples.append((self.clock(), *self.pointer, colour))
                self.sound.play_note(index * 3)
        self.pressed = state

    def wheel(self, dz: int) -> None:
        self.wheel_total += dz
        self.ripples.append((self.clock(), *self.pointer, WHEEL_COLOUR))

    def heard(self, level: float) -> None:
        self.sound.heard(level)
