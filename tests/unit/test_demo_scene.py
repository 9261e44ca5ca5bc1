"""The demo's scene is a pure function of its state; the desktop shows what it draws."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from spice_server import KeyboardModifier, MouseMode, Server
from spice_server.backends.demo import DemoDesktop
from spice_server.backends.demo.devices import (
    MAX_NOTES_AHEAD,
    NOTE_SECONDS,
    DemoMicrophone,
    DemoSound,
)
from spice_server.backends.demo.scene import (
    ACCENT,
    LED_OFF,
    LED_ON,
    Ripple,
    Scene,
    SceneState,
    wrap,
)

AREAS = ("header", "text", "animation", "sketch", "sound")


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(800, 600)


def pixels(image) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(image)


def test_the_same_state_draws_the_same_pixels_and_states_are_frozen(scene):
    def state() -> SceneState:
        return SceneState(text="hello", trail=((100, 400), (120, 410)), clients=2)

    for area in AREAS:
        assert scene.paint(area, state()).tobytes() == scene.paint(area, state()).tobytes()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state().text = "changed"  # type: ignore[misc]


def test_each_area_depends_on_its_own_part_of_the_state(scene):
    base = SceneState()
    changes = {
        "header": dict(clients=3, mouse_mode=MouseMode.CLIENT, leds=KeyboardModifier.NUM_LOCK),
        "text": dict(text="typed", last_key="d"),
        "animation": dict(elapsed=1.3, clock="12:34:56"),
        "sketch": dict(trail=((50, 400),), buttons=1, wheel=-2),
        "sound": dict(volume=0.3, muted=True, recording=True, mic_level=0.5),
    }
    for changed, fields in changes.items():
        state = dataclasses.replace(base, **fields)
        for area in AREAS:
            same_part = scene.shows(area, state) == scene.shows(area, base)
            same_pixels = scene.paint(area, state).tobytes() == scene.paint(area, base).tobytes()
            assert same_part == (area != changed), (changed, area)
            assert same_pixels == same_part, (changed, area)


def test_the_caps_lock_led_lights(scene):
    led = (31, scene.width - 330 + 9)  # (y, x) inside the first LED
    off = pixels(scene.paint("header", SceneState()))
    on = pixels(scene.paint("header", SceneState(leds=KeyboardModifier.CAPS_LOCK)))
    assert tuple(off[led]) == LED_OFF and tuple(on[led]) == LED_ON


def test_the_volume_bar_fills_with_the_volume(scene):
    row = 37  # inside the bar (28..46)
    loud = pixels(scene.paint("sound", SceneState(volume=1.0)))[row, 14:261]
    quiet = pixels(scene.paint("sound", SceneState(volume=0.2)))[row, 14:261]
    filled = [int((bar == ACCENT).all(axis=1).sum()) for bar in (loud, quiet)]
    assert filled[0] > 240 and 40 < filled[1] < 60


def test_ripples_grow_and_the_ball_moves(scene):
    young = SceneState(ripples=(Ripple(0.0, 300, 450, ACCENT),))
    old = SceneState(ripples=(Ripple(0.5, 300, 450, ACCENT),))
    assert scene.shows("sketch", young) != scene.shows("sketch", old)
    assert scene.shows("animation", SceneState(elapsed=0)) != scene.shows(
        "animation", SceneState(elapsed=0.5)
    )


def test_a_too_small_screen_is_refused():
    with pytest.raises(ValueError, match="at least 480x360"):
        Scene(400, 300)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_desktop_shows_what_the_scene_draws_and_resends_only_what_changed():
    clock = Clock()
    desktop = DemoDesktop(Server(port=None), 800, 600, clock=clock, wall_clock=lambda: "12:00")
    for code in (0x23, 0x17):  # "hi": press, then release
        desktop.keyboard.push_scan_freq(code)
        desktop.keyboard.push_scan_freq(code | 0x80)
    state = desktop.snapshot(clock())
    assert (state.text, state.last_key, state.elapsed, state.clock) == ("hi", "I", 0.0, "12:00")
    desktop.draw(state)
    rgb = pixels(desktop.scene.render(state)).astype(np.uint32)
    expected = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert np.array_equal(desktop.display.snapshot() & 0xFFFFFF, expected)

    sent: list[tuple[int, int]] = []
    update = desktop.display.update

    def recording_update(data, x=0, y=0, **options):  # type: ignore[no-untyped-def]
        sent.append((x, y))
        update(data, x, y, **options)

    desktop.display.update = recording_update  # type: ignore[method-assign]
    desktop.draw(state)
    assert sent == []  # nothing changed
    desktop.keyboard.push_scan_freq(0x1E)  # "a"
    desktop.draw(desktop.snapshot(clock()))
    text = desktop.scene.areas["text"]
    assert sent == [(text.left, text.top)]


def test_a_burst_of_keys_queues_at_most_half_a_second_of_notes() -> None:
    """Thousands of keys at once must not cost thousands of notes to encode and send."""
    now = [100.0]
    sound = DemoSound(DemoMicrophone(_NoEvents()), lambda: now[0])
    pushed: list[int] = []
    sound.speaker.push = lambda samples: pushed.append(len(samples))  # type: ignore[method-assign]
    for _ in range(20_000):
        sound.play_note(0x1E)
    assert len(pushed) == int(MAX_NOTES_AHEAD / NOTE_SECONDS) + 1
    now[0] += 10
    sound.play_note(0x1E)
    assert len(pushed) == int(MAX_NOTES_AHEAD / NOTE_SECONDS) + 2


class _NoEvents:
    def key(self, event, text) -> None: ...
    def pointer_at(self, x, y) -> None: ...
    def pointer_moved_by(self, dx, dy) -> None: ...
    def buttons(self, state) -> None: ...
    def wheel(self, dz) -> None: ...
    def heard(self, level) -> None: ...


def test_wrapping_a_screen_of_text_is_cheap_and_fits(scene) -> None:
    """A client can type 2000 characters at once; each frame wraps them again."""
    text = "the quick brown fox jumps over the lazy dog " * 45
    started = time.perf_counter()
    lines = wrap(text, scene.font, 500)
    elapsed = time.perf_counter() - started
    assert "".join(lines) == text
    assert all(scene.font.getlength(line) <= 500 + 2 for line in lines)
    assert elapsed < 0.02, f"{elapsed * 1000:.0f} ms"
