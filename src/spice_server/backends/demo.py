"""The demo desktop: the embedded default back end, made to show each feature working.

It registers a display, a keyboard, a mouse and a tablet, and draws with Pillow:

* a header with the address, the number of clients, the mouse mode and the lock LEDs;
* a text box showing what is typed (shift and caps lock applied; Caps Lock toggles the
  LED, which the client's keyboard follows);
* an animation (a bouncing ball and a clock), so frames keep flowing;
* a sketch area with the pointer's trail and a ripple for every click and wheel turn;
* sound: a short note for every key and click, a volume bar (Page Up / Page Down, End
  mutes), and the level of the client's microphone while recording (Insert toggles it).

Each area is its own image and is only re-sent when it changes, so an idle demo costs
little more than the animation.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..core.base import Core, Timer
from ..interfaces.display import Display
from ..interfaces.keyboard import KeyboardInterface
from ..interfaces.mouse import MouseInterface
from ..interfaces.playback import PlaybackInterface
from ..interfaces.record import RecordInterface
from ..interfaces.tablet import TabletInterface
from ..protocol.constants import ButtonMask, KeyboardModifier, MouseMode
from ..server import Server
from . import tones
from .scancodes import BACKSPACE, EXTENDED, KeyboardState, ScancodeDecoder, key_name

FRAME_MS = 33
BACKGROUND = (32, 38, 48)
PANEL = (44, 52, 66)
TEXT = (230, 234, 240)
DIM = (140, 150, 165)
ACCENT = (255, 170, 60)
LED_ON = (90, 220, 120)
LED_OFF = (70, 78, 92)
BUTTON_COLOURS = {
    ButtonMask.LEFT: (90, 170, 255),
    ButtonMask.MIDDLE: (120, 230, 140),
    ButtonMask.RIGHT: (255, 110, 110),
}
TRAIL_LENGTH = 80
RIPPLE_SECONDS = 0.7
MAX_TEXT = 2000
AUDIO_RATE = 48000
NOTE_SECONDS = 0.12
SILENCE_BEFORE_STOP = 0.5  # playback stops this long after the last note
VOLUME_UP, VOLUME_DOWN, MUTE, MICROPHONE = (EXTENDED | c for c in (0x49, 0x51, 0x4F, 0x52))
METER_ON = (90, 220, 120)


class Area:
    """A rectangle of the screen drawn as its own image, sent only when it changed."""

    def __init__(self, display: Display, x: int, y: int, width: int, height: int) -> None:
        self.display = display
        self.x, self.y, self.width, self.height = x, y, max(1, width), max(1, height)
        self.last: Any = None

    def draw(self, key: Any, paint: Any) -> None:
        """Repaint with ``paint(draw, image)`` unless ``key`` (what it shows) is unchanged."""
        if key == self.last:
            return
        self.last = key
        image = Image.new("RGB", (self.width, self.height), PANEL)
        paint(ImageDraw.Draw(image), image)
        self.display.update(image.tobytes("raw", "BGRX"), self.x, self.y, width=self.width)


class DemoKeyboard(KeyboardInterface):
    def __init__(self, desktop: DemoDesktop) -> None:
        self.desktop = desktop
        self.decoder = ScancodeDecoder()
        self.state = KeyboardState()

    def push_scan_freq(self, frag: int) -> None:
        event = self.decoder.feed(frag)
        if event is None:
            return
        if self.state.apply(event):
            self.set_leds(self.state.locks)
        self.desktop.key(event, self.state.text(event))

    def get_leds(self) -> KeyboardModifier:
        return self.state.locks


class DemoMouse(MouseInterface):
    def __init__(self, desktop: DemoDesktop) -> None:
        self.desktop = desktop

    def motion(self, dx: int, dy: int, dz: int, buttons_state: int) -> None:
        self.desktop.pointer_moved_by(dx, dy)
        if dz:
            self.desktop.wheel(dz)
        self.desktop.buttons(buttons_state)

    def buttons(self, buttons_state: int) -> None:
        self.desktop.buttons(buttons_state)


class DemoTablet(TabletInterface):
    def __init__(self, desktop: DemoDesktop) -> None:
        self.desktop = desktop

    def position(self, x: int, y: int, buttons_state: int, display_id: int) -> None:
        self.desktop.pointer_at(x, y)
        self.desktop.buttons(buttons_state)

    def wheel(self, wheel_motion: int, buttons_state: int) -> None:
        self.desktop.wheel(wheel_motion)

    def buttons(self, buttons_state: int) -> None:
        self.desktop.buttons(buttons_state)


class DemoMicrophone(RecordInterface):
    def __init__(self, desktop: DemoDesktop) -> None:
        super().__init__(AUDIO_RATE)
        self.desktop = desktop

    def client_samples(self, pcm: bytes, time: int) -> None:
        self.desktop.heard(tones.level(pcm))

    def client_stop(self) -> None:
        self.desktop.heard(0.0)


class DemoDesktop:
    """Owns the demo's interfaces and redraws on a core timer (the caller's loop)."""

    def __init__(self, server: Server, width: int = 1024, height: int = 768) -> None:
        if width < 480 or height < 360:
            raise ValueError("the demo desktop needs at least 480x360")
        self.server = server
        self.width, self.height = width, height
        self.display = Display(width, height)
        self.keyboard = DemoKeyboard(self)
        self.mouse = DemoMouse(self)
        self.tablet = DemoTablet(self)
        self.speaker = PlaybackInterface(AUDIO_RATE)
        self.microphone = DemoMicrophone(self)
        self.volume = 0.7
        self.muted = False
        self.mic_level = 0.0
        self.speaker.set_volume(self._volume_levels())
        self.font = ImageFont.load_default(size=18)
        self.small = ImageFont.load_default(size=14)
        self.big = ImageFont.load_default(size=30)
        self.text = ""
        self.last_key = "(none yet)"
        self.pointer = (width // 2, height // 2)
        self.trail: deque[tuple[int, int]] = deque(maxlen=TRAIL_LENGTH)
        self.ripples: list[tuple[float, int, int, tuple[int, int, int]]] = []
        self.pressed = 0
        self.wheel_total = 0
        self.frames = 0
        self._sound_until = 0.0
        self._timer: Timer | None = None
        self._core: Core | None = None
        self._started = time.monotonic()
        header_h, middle_h = 64, 210
        right_w = 300
        self.header = Area(self.display, 0, 0, width, header_h)
        self.text_area = Area(self.display, 16, header_h + 12, width - right_w - 48, middle_h)
        self.anim_area = Area(self.display, width - right_w - 16, header_h + 12, right_w, middle_h)
        sketch_y = header_h + middle_h + 24
        sound_h = 56
        self.sketch = Area(self.display, 16, sketch_y, width - 32, height - sketch_y - sound_h - 28)
        self.sound = Area(self.display, 16, height - sound_h - 16, width - 32, sound_h)
        self.display.update(_background(width, height), width=width, diff=False)

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

    def _interfaces(self) -> list[Any]:
        return [
            self.display,
            self.keyboard,
            self.mouse,
            self.tablet,
            self.speaker,
            self.microphone,
        ]

    def _tick(self, opaque: Any) -> None:
        now = time.monotonic()
        self.frames += 1
        self.ripples = [r for r in self.ripples if now - r[0] < RIPPLE_SECONDS]
        self._draw_header()
        self._draw_text()
        self._draw_animation(now)
        self._draw_sketch(now)
        self._draw_sound()
        if self.speaker.active and now > self._sound_until + SILENCE_BEFORE_STOP:
            self.speaker.stop()  # so clients close their sound device between notes
        if self._core is not None and self._timer is not None:
            self._core.timer_start(self._timer, FRAME_MS)

    # -- events from the interfaces (on the loop thread) ---------------------------------

    def key(self, event: Any, text: str | None) -> None:
        if event.pressed:
            self.last_key = key_name(event.code)
            if not self._sound_key(event.code):
                self.play_note(event.code)
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
                self.ripples.append((time.monotonic(), *self.pointer, colour))
                self.play_note(index * 3)
        self.pressed = state

    def wheel(self, dz: int) -> None:
        self.wheel_total += dz
        self.ripples.append((time.monotonic(), *self.pointer, ACCENT))

    # -- sound -------------------------------------------------------------------------

    def play_note(self, index: int) -> None:
        """A short note, queued after what is still playing."""
        self.speaker.push(tones.beep(tones.note(index), NOTE_SECONDS, AUDIO_RATE))
        self._sound_until = max(self._sound_until, time.monotonic()) + NOTE_SECONDS

    def _sound_key(self, code: int) -> bool:
        """Volume, mute and microphone keys; True if ``code`` was one of them."""
        if code in (VOLUME_UP, VOLUME_DOWN):
            step = 0.1 if code == VOLUME_UP else -0.1
            self.volume = round(min(1.0, max(0.0, self.volume + step)), 1)
            self.speaker.set_volume(self._volume_levels())
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

    def _volume_levels(self) -> list[int]:
        return [round(self.volume * 0xFFFF)] * 2

    def heard(self, level: float) -> None:
        """A microphone frame's level: the meter jumps up and falls back slowly."""
        self.mic_level = max(level, self.mic_level * 0.9)

    # -- drawing -------------------------------------------------------------------------

    def _draw_header(self) -> None:
        leds = self.keyboard.state.locks
        try:
            address = self.server.uri()
        except Exception:
            address = "(not listening)"
        state = (self.server.session_count, self.server.mouse_mode, int(leds), address)

        def paint(draw: ImageDraw.ImageDraw, image: Image.Image) -> None:
            draw.rectangle((0, 0, self.width, 64), fill=(24, 28, 36))
            draw.text((16, 8), "spice-server demo", font=self.big, fill=TEXT)
            clients, mode, _, uri = state
            mode_name = "client (absolute)" if mode == MouseMode.CLIENT else "server (relative)"
            draw.text((300, 10), f"{uri}   clients: {clients}", font=self.font, fill=DIM)
            draw.text((300, 36), f"mouse mode: {mode_name}", font=self.font, fill=DIM)
            x = self.width - 330
            for name, flag in (
                ("CAPS", KeyboardModifier.CAPS_LOCK),
                ("NUM", KeyboardModifier.NUM_LOCK),
                ("SCROLL", KeyboardModifier.SCROLL_LOCK),
            ):
                lit = bool(leds & flag)
                draw.ellipse((x, 22, x + 18, 40), fill=LED_ON if lit else LED_OFF)
                draw.text((x + 24, 21), name, font=self.font, fill=TEXT if lit else DIM)
                x += 105

        self.header.draw(state, paint)

    def _draw_text(self) -> None:
        caret = int(time.monotonic() * 2) % 2 == 0
        state = (self.text, self.last_key, caret)

        def paint(draw: ImageDraw.ImageDraw, image: Image.Image) -> None:
            draw.text((12, 8), f"Type here.  Last key: {self.last_key}", font=self.small, fill=DIM)
            lines = _wrap(self.text + ("_" if caret else " "), self.font, self.text_area.width - 24)
            visible = lines[-((self.text_area.height - 36) // 24) :]
            for i, line in enumerate(visible):
                draw.text((12, 32 + 24 * i), line, font=self.font, fill=TEXT)

        self.text_area.draw(state, paint)

    def _draw_animation(self, now: float) -> None:
        area = self.anim_area
        t = now - self._started
        r = 18
        bx = r + (area.width - 2 * r) * abs(((t * 0.35) % 2) - 1)
        by = 70 + (area.height - 90 - r) * abs(math.sin(t * 2.2))
        clock = time.strftime("%H:%M:%S")
        state = (round(bx), round(by), clock)

        def paint(draw: ImageDraw.ImageDraw, image: Image.Image) -> None:
            draw.text((12, 8), clock, font=self.big, fill=TEXT)
            draw.text((12, 44), f"frame {self.frames}", font=self.small, fill=DIM)
            draw.ellipse((bx - r, by - r, bx + r, by + r), fill=ACCENT)

        area.draw(state, paint)

    def _draw_sketch(self, now: float) -> None:
        area = self.sketch
        ox, oy = area.x, area.y
        trail = tuple(self.trail)
        ripples = tuple((round((now - t0) * 20), x, y, c) for t0, x, y, c in self.ripples)
        state = (trail, ripples, self.pressed, self.wheel_total)

        def paint(draw: ImageDraw.ImageDraw, image: Image.Image) -> None:
            draw.text(
                (12, 8),
                f"Move and click here.  Buttons held: {self.pressed:#04x}   "
                f"wheel: {self.wheel_total:+d}",
                font=self.small,
                fill=DIM,
            )
            points = [(x - ox, y - oy) for x, y in trail]
            for i in range(1, len(points)):
                shade = 60 + int(195 * i / len(points))
                draw.line((points[i - 1], points[i]), fill=(shade, shade, 255), width=3)
            for step, x, y, colour in ripples:
                radius = 6 + step * 2
                draw.ellipse(
                    (x - ox - radius, y - oy - radius, x - ox + radius, y - oy + radius),
                    outline=colour,
                    width=3,
                )

        area.draw(state, paint)

    def _draw_sound(self) -> None:
        recording = self.microphone.active
        state = (self.volume, self.muted, recording, round(self.mic_level * 40))

        def paint(draw: ImageDraw.ImageDraw, image: Image.Image) -> None:
            keys = "Sound  (Page Up/Down: volume, End: mute)"
            draw.text((12, 6), keys, font=self.small, fill=DIM)
            _meter(draw, (12, 28, 262, 46), self.volume, DIM if self.muted else ACCENT)
            label = "muted" if self.muted else f"volume {round(self.volume * 100)} %"
            draw.text((274, 27), label, font=self.small, fill=TEXT)
            x = self.sound.width // 2
            mic = "recording" if recording else "off"
            draw.text((x, 6), f"Microphone: {mic}  (Insert)", font=self.small, fill=DIM)
            if recording:
                _meter(draw, (x, 28, x + 250, 46), self.mic_level, METER_ON)

        self.sound.draw(state, paint)


def _meter(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], value: float, fill: Any
) -> None:
    """A horizontal bar filled to ``value`` (0 to 1)."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=DIM)
    if value > 0:
        draw.rectangle((x0 + 2, y0 + 2, x0 + 2 + round((x1 - x0 - 4) * value), y1 - 2), fill=fill)


def _background(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), BACKGROUND)
    return image.tobytes("raw", "BGRX")


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Break text into lines that fit ``width`` pixels, honouring newlines."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if font.getlength(line + ch) > width:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
    return lines
