"""What the demo's screen shows, drawn with Pillow from a snapshot of the demo's state.

Drawing is a pure function of a ``SceneState``: the same snapshot always gives the same
pixels, so the scene is tested without a server, a loop or a clock. The screen is cut in
areas (header, text box, animation, sketch pad, sound bar); ``shows`` says which part of
the state an area depends on, so the caller repaints and re-sends only the areas whose
part changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from ...protocol.constants import ButtonMask, KeyboardModifier, MouseMode
from ...protocol.rect import Rect

BACKGROUND = (32, 38, 48)
PANEL = (44, 52, 66)
TEXT = (230, 234, 240)
DIM = (140, 150, 165)
ACCENT = (255, 170, 60)
LED_ON = (90, 220, 120)
LED_OFF = (70, 78, 92)
METER_ON = (90, 220, 120)
BUTTON_COLOURS = {
    ButtonMask.LEFT: (90, 170, 255),
    ButtonMask.MIDDLE: (120, 230, 140),
    ButtonMask.RIGHT: (255, 110, 110),
}
WHEEL_COLOUR = ACCENT
LEDS = (
    ("CAPS", KeyboardModifier.CAPS_LOCK),
    ("NUM", KeyboardModifier.NUM_LOCK),
    ("SCROLL", KeyboardModifier.SCROLL_LOCK),
)
BALL_RADIUS = 18
RIPPLE_GROWTH = 40  # pixels of radius per second
HEADER_H, MIDDLE_H, SOUND_H, RIGHT_W = 64, 210, 56, 300
MIN_WIDTH, MIN_HEIGHT = 480, 360
NO_LEDS = KeyboardModifier(0)

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Ripple:
    """A click or wheel turn, drawn as a growing ring until it is old."""

    age: float  # seconds
    x: int
    y: int
    colour: Colour


@dataclass(frozen=True)
class SceneState:
    """Everything the scene shows, at one moment."""

    address: str = "(not listening)"
    clients: int = 0
    mouse_mode: MouseMode = MouseMode.SERVER
    leds: KeyboardModifier = NO_LEDS
    text: str = ""
    last_key: str = "(none yet)"
    elapsed: float = 0.0  # seconds since the demo started: the animation, the caret
    clock: str = "00:00:00"  # the wall-clock time shown
    frame: int = 0
    trail: tuple[tuple[int, int], ...] = ()
    ripples: tuple[Ripple, ...] = ()
    buttons: int = 0
    wheel: int = 0
    volume: float = 0.7
    muted: bool = False
    recording: bool = False
    mic_level: float = 0.0


Painter = Callable[[ImageDraw.ImageDraw, SceneState], None]


class Scene:
    """The demo's screen laid out for one size."""

    def __init__(self, width: int, height: int) -> None:
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            raise ValueError(f"the demo desktop needs at least {MIN_WIDTH}x{MIN_HEIGHT}")
        self.width, self.height = width, height
        self.font = ImageFont.load_default(size=18)
        self.small = ImageFont.load_default(size=14)
        self.big = ImageFont.load_default(size=30)
        sketch_y = HEADER_H + MIDDLE_H + 24
        self.areas = {
            "header": Rect.from_size(0, 0, width, HEADER_H),
            "text": Rect.from_size(16, HEADER_H + 12, width - RIGHT_W - 48, MIDDLE_H),
            "animation": Rect.from_size(width - RIGHT_W - 16, HEADER_H + 12, RIGHT_W, MIDDLE_H),
            "sketch": Rect.from_size(16, sketch_y, width - 32, height - sketch_y - SOUND_H - 28),
            "sound": Rect.from_size(16, height - SOUND_H - 16, width - 32, SOUND_H),
        }
        self._painters: dict[str, Painter] = {
            "header": self._header,
            "text": self._text,
            "animation": self._animation,
            "sketch": self._sketch,
            "sound": self._sound,
        }

    def background(self) -> Image.Image:
        return Image.new("RGB", (self.width, self.height), BACKGROUND)

    def shows(self, area: str, state: SceneState) -> Hashable:
        """The part of ``state`` that ``area`` depends on: equal parts, equal pixels."""
        if area == "header":
            return (state.address, state.clients, state.mouse_mode, state.leds)
        if area == "text":
            return (state.text, state.last_key, caret_on(state.elapsed))
        if area == "animation":
            return (self._ball(state.elapsed), state.clock)
        if area == "sketch":
            rings = tuple((ring_radius(r.age), r.x, r.y, r.colour) for r in state.ripples)
            return (state.trail, rings, state.buttons, state.wheel)
        return (state.volume, state.muted, state.recording, round(state.mic_level * 40))

    def paint(self, area: str, state: SceneState) -> Image.Image:
        """``area`` as ``state`` has it: an RGB image of the area's size."""
        rect = self.areas[area]
        image = Image.new("RGB", (rect.width, rect.height), PANEL)
        self._painters[area](ImageDraw.Draw(image), state)
        return image

    def render(self, state: SceneState) -> Image.Image:
        """The whole screen (what the areas make, over the background)."""
        screen = self.background()
        for area, rect in self.areas.items():
            screen.paste(self.paint(area, state), (rect.left, rect.top))
        return screen

    # -- the areas -----------------------------------------------------------------------

    def _header(self, draw: ImageDraw.ImageDraw, state: SceneState) -> None:
        draw.rectangle((0, 0, self.width, HEADER_H), fill=(24, 28, 36))
        draw.text((16, 8), "spice-server demo", font=self.big, fill=TEXT)
        mode = "client (absolute)" if state.mouse_mode == MouseMode.CLIENT else "server (relative)"
        draw.text(
            (300, 10), f"{state.address}   clients: {state.clients}", font=self.font, fill=DIM
        )
        draw.text((300, 36), f"mouse mode: {mode}", font=self.font, fill=DIM)
        x = self.width - 330
        for name, flag in LEDS:
            lit = bool(state.leds & flag)
            draw.ellipse((x, 22, x + 18, 40), fill=LED_ON if lit else LED_OFF)
            draw.text((x + 24, 21), name, font=self.font, fill=TEXT if lit else DIM)
            x += 105

    def _text(self, draw: ImageDraw.ImageDraw, state: SceneState) -> None:
        rect = self.areas["text"]
        draw.text((12, 8), f"Type here.  Last key: {state.last_key}", font=self.small, fill=DIM)
        caret = "_" if caret_on(state.elapsed) else " "
        lines = wrap(state.text + caret, self.font, rect.width - 24)
        for i, line in enumerate(lines[-((rect.height - 36) // 24) :]):
            draw.text((12, 32 + 24 * i), line, font=self.font, fill=TEXT)

    def _animation(self, draw: ImageDraw.ImageDraw, state: SceneState) -> None:
        bx, by = self._ball(state.elapsed)
        r = BALL_RADIUS
        draw.text((12, 8), state.clock, font=self.big, fill=TEXT)
        draw.text((12, 44), f"frame {state.frame}", font=self.small, fill=DIM)
        draw.ellipse((bx - r, by - r, bx + r, by + r), fill=ACCENT)

    def _sketch(self, draw: ImageDraw.ImageDraw, state: SceneState) -> None:
        rect = self.areas["sketch"]
        draw.text(
            (12, 8),
            f"Move and click here.  Buttons held: {state.buttons:#04x}   wheel: {state.wheel:+d}",
            font=self.small,
            fill=DIM,
        )
        points = [(x - rect.left, y - rect.top) for x, y in state.trail]
        for i in range(1, len(points)):
            shade = 60 + int(195 * i / len(points))
            draw.line((points[i - 1], points[i]), fill=(shade, shade, 255), width=3)
        for ripple in state.ripples:
            radius = ring_radius(ripple.age)
            x, y = ripple.x - rect.left, ripple.y - rect.top
            draw.ellipse(
                (x - radius, y - radius, x + radius, y + radius), outline=ripple.colour, width=3
            )

    def _sound(self, draw: ImageDraw.ImageDraw, state: SceneState) -> None:
        draw.text((12, 6), "Sound  (Page Up/Down: volume, End: mute)", font=self.small, fill=DIM)
        meter(draw, (12, 28, 262, 46), state.volume, DIM if state.muted else ACCENT)
        label = "muted" if state.muted else f"volume {round(state.volume * 100)} %"
        draw.text((274, 27), label, font=self.small, fill=TEXT)
        x = self.areas["sound"].width // 2
        mic = "recording" if state.recording else "off"
        draw.text((x, 6), f"Microphone: {mic}  (Insert)", font=self.small, fill=DIM)
        if state.recording:
            meter(draw, (x, 28, x + 250, 46), state.mic_level, METER_ON)

    def _ball(self, elapsed: float) -> tuple[int, int]:
        """Where the bouncing ball is, ``elapsed`` seconds in."""
        rect, r = self.areas["animation"], BALL_RADIUS
        x = r + (rect.width - 2 * r) * abs(((elapsed * 0.35) % 2) - 1)
        y = 70 + (rect.height - 90 - r) * abs(math.sin(elapsed * 2.2))
        return round(x), round(y)


def caret_on(elapsed: float) -> bool:
    """The text caret blinks twice a second."""
    return int(elapsed * 2) % 2 == 0


def ring_radius(age: float) -> int:
    return 6 + 2 * round(age * RIPPLE_GROWTH / 2)


def meter(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], value: float, fill: Colour
) -> None:
    """A horizontal bar filled to ``value`` (0 to 1)."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=DIM)
    if value > 0:
        draw.rectangle((x0 + 2, y0 + 2, x0 + 2 + round((x1 - x0 - 4) * value), y1 - 2), fill=fill)


def wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Break text into lines that fit ``width`` pixels, honouring newlines.

    Each character is measured once and lines are the sum of their characters (kerning
    aside): measuring every growing line made a screen of text cost 100 ms per frame."""
    widths: dict[str, float] = {}
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for ch in paragraph:
            w = widths.get(ch)
            if w is None:
                w = widths[ch] = font.getlength(ch)
            if used + w > width and line:
                lines.append(line)
                line, used = "", 0.0
            line += ch
            used += w
        lines.append(line)
    return lines
