"""The x11 back end's capture on a real Xvfb, with a hand-driven core and clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import xcffib
import xcffib.damage
import xcffib.xfixes

from spice_server.backends.x11.capture import FRAME_MS, INPUT_WINDOW_S, ScreenCapture
from spice_server.backends.x11.connection import XConnection
from spice_server.backends.x11.damage import Box
from spice_server.interfaces.display import Display
from spice_server.protocol.rect import Rect

from fakes import FakeClock
from harness import wait_until
from xserver import HandCore, Painter, XServer


@pytest.fixture
def setup(
    tmp_path: Path,
) -> Iterator[tuple[XServer, XConnection, ScreenCapture, HandCore, FakeClock]]:
    server = XServer(tmp_path, width=320, height=240)
    clock, core = FakeClock(100.0), HandCore()
    x = XConnection(server.name, clock.now)
    x.conn(xcffib.damage.key).QueryVersion(1, 1).reply()
    x.conn(xcffib.xfixes.key).QueryVersion(5, 0).reply()
    capture = ScreenCapture(x, Display(320, 240))
    x.handlers.append(capture.handle)
    capture.start(core)
    x.start(core)
    yield server, x, capture, core, clock
    capture.close()
    x.close()
    server.kill()


def painted(capture: ScreenCapture, rect: Rect) -> bool:
    """Whether the Display shows ``rect`` in the Painter's colour."""
    area = capture.display.snapshot()[rect.top : rect.bottom, rect.left : rect.right]
    return bool(np.all(area & 0xFFFFFF == 0x336699))


def loop_turn(x: XConnection, core: HandCore) -> bool:
    """One turn of the hand-driven loop, X's events and then due timers; False, so that
    a wait goes on to its condition."""
    x.pump_events()
    core.fire()
    return False


def first_capture(x: XConnection, core: HandCore, capture: ScreenCapture, painter: Painter) -> None:
    """Paint and capture a first rectangle: the screen's first damage is all of it."""
    first = Rect.from_size(300, 10, 10, 10)
    painter.fill(first)
    wait_until(
        lambda: x.pump_events() or core.fire() or painted(capture, first), what="a first capture"
    )


def recorded_writes(capture: ScreenCapture) -> list[Rect]:
    """The areas the capture writes to its Display from now on, in order."""
    written: list[Rect] = []
    update = capture.display.update

    def recording_update(pixels: np.ndarray, x: int = 0, y: int = 0, **kw: object) -> None:
        written.append(Rect.from_size(x, y, pixels.shape[1], pixels.shape[0]))
        update(pixels, x, y, **kw)

    capture.display.update = recording_update  # type: ignore[method-assign]
    return written


def recording_after_a_first_capture(
    setup: tuple[XServer, XConnection, ScreenCapture, HandCore, FakeClock],
) -> tuple[XConnection, HandCore, ScreenCapture, Painter, list[Rect]]:
    """A first capture made; the areas written to the Display from then on, in order."""
    server, x, capture, core, _clock = setup
    painter = Painter(server.name)
    first_capture(x, core, capture, painter)
    return x, core, capture, painter, recorded_writes(capture)


def test_drawing_reaches_the_display_one_capture_per_frame_on_a_steady_beat(setup):
    server, x, capture, core, clock = setup
    painter = Painter(server.name)

    first = Rect.from_size(10, 10, 20, 20)
    painter.fill(first)
    wait_until(
        lambda: loop_turn(x, core) or painted(capture, first), what="the first drawing captured"
    )

    # The next capture may begin one frame after this one began, not before.
    second = Rect.from_size(100, 100, 20, 20)
    painter.fill(second)
    wait_until(lambda: x.pump_events() or core.started, what="the next capture scheduled")
    assert list(core.started.values()) == [FRAME_MS]
    clock.time += FRAME_MS / 1000 + 0.002  # the loop was busy: it begins 2 ms late
    wait_until(
        lambda: loop_turn(x, core) or painted(capture, second), what="the second drawing captured"
    )

    # The slots keep their beat: the next one is 14 ms on, not a whole frame.
    painter.fill(Rect.from_size(200, 100, 20, 20))
    wait_until(lambda: x.pump_events() or core.started, what="the third capture scheduled")
    (delay,) = core.started.values()
    assert FRAME_MS - 3 <= delay <= FRAME_MS - 2  # in whole ms, rounded down


def test_after_input_captures_skip_their_frame_slot_for_a_while(setup):
    """A program answers a key some ms after it went in, often after a capture of other
    damage began: its echo must not wait for the next frame slot."""
    server, x, capture, core, clock = setup
    painter = Painter(server.name)

    other = Rect.from_size(10, 10, 20, 20)
    painter.fill(other)
    wait_until(lambda: loop_turn(x, core) or painted(capture, other), what="other damage captured")
    capture.input_injected()
    echo = Rect.from_size(100, 100, 20, 20)
    painter.fill(echo)
    wait_until(lambda: x.pump_events() or core.started, what="the echo's capture scheduled")
    assert list(core.started.values()) == [0]
    clock.time += INPUT_WINDOW_S  # the window closes: frame pacing again
    wait_until(lambda: loop_turn(x, core) or painted(capture, echo), what="the echo captured")
    painter.fill(Rect.from_size(200, 100, 20, 20))
    wait_until(lambda: x.pump_events() or core.started, what="a later capture scheduled")
    assert 0 < next(iter(core.started.values())) <= FRAME_MS


def test_small_rectangles_reach_the_display_before_large_ones(setup):
    """An echo beside a moving picture: the picture is costly to compare, so it goes to
    the Display in a later turn of the loop, after the echo is on its way."""
    server, x, capture, _core, _clock = setup
    core = capture.core
    assert isinstance(core, HandCore)
    painter = Painter(server.name)

    first_capture(x, core, capture, painter)
    large = Rect.from_size(0, 0, 200, 200)
    small = Rect.from_size(280, 210, 10, 10)
    painter.fill(large)
    painter.fill(small)
    large_when_small: list[bool] = []

    def step() -> bool:
        x.pump_events()
        if painted(capture, small):
            large_when_small.append(painted(capture, large))
            return True
        core.fire()
        return False

    wait_until(step, what="the small rectangle captured")
    assert large_when_small == [False]
    wait_until(
        lambda: x.pump_events() or core.fire() or painted(capture, large), what="the large one"
    )


def test_an_echo_drawn_during_a_large_capture_is_written_before_it(setup):
    """Keys typed beside a pan: the echo is drawn while a capture of the pan's frame is
    being fetched. The next capture begins at once (input is being answered); the pan's
    pixels wait in the segment and are written after the echo's, not before (their
    comparison took 4 ms of the loop, and the echo waited for it), and in a later turn
    of the loop, once the clients have been sent the echo (under a flooding terminal
    the echo waited for the terminal's comparison there)."""
    x, core, capture, painter, written = recording_after_a_first_capture(setup)
    large, echo = Rect.from_size(0, 0, 200, 200), Rect.from_size(280, 210, 10, 10)
    boxes = capture.damage.boxes

    def boxes_then_echo(cookie: xcffib.Cookie) -> list[Box]:
        found = boxes(cookie)
        if not written and echo not in [box.rect for box in found]:
            painter.fill(echo)  # after the large capture's region, before its pixels
        return found

    capture.damage.boxes = boxes_then_echo  # type: ignore[method-assign]
    capture.input_injected()
    painter.fill(large)
    large_when_echo: list[bool] = []

    def step(turn: Callable[[], object]) -> bool:
        turn()
        if not large_when_echo and painted(capture, echo):
            large_when_echo.append(painted(capture, large))
        return painted(capture, large) and painted(capture, echo)

    wait_until(lambda: step(x.pump_events) or step(core.fire), what="both captured")
    assert large_when_echo == [False]
    assert written[0].intersect(echo) == echo and written[0].area < large.area, written
    assert any(r.intersect(large) == large for r in written[1:]), written


def test_pixels_left_waiting_are_not_written_once_a_newer_grab_holds_them(setup):
    """Under a flooding terminal a capture's box was left waiting in the segment (input
    was being answered, the next capture had begun), and the next capture grabbed the
    same box again: both were written, one after the other, 10 ms of the loop each, the
    older for nothing. A newer grab that holds the waiting box replaces it."""
    x, core, capture, painter, written = recording_after_a_first_capture(setup)
    large = Rect.from_size(0, 0, 200, 200)
    boxes = capture.damage.boxes
    regions: list[list[Box]] = []

    def boxes_then_drawn_again(cookie: xcffib.Cookie) -> list[Box]:
        found = boxes(cookie)
        if not regions:
            painter.fill(large)  # drawn again while this capture's pixels are fetched
        regions.append(found)
        return found

    capture.damage.boxes = boxes_then_drawn_again  # type: ignore[method-assign]
    capture.input_injected()
    painter.fill(large)
    wait_until(
        lambda: loop_turn(x, core) or (len(regions) >= 2 and painted(capture, large)),
        what="two captures of the large box",
    )
    for _ in range(5):
        loop_turn(x, core)
    assert [box.rect for box in regions[0]] == [large] == [box.rect for box in regions[1]]
    assert written == [large]


def test_a_size_the_screen_left_before_it_was_read_changes_nothing(setup, caplog):
    """xrandr called in a loop: the screen's event said 400x300, but it shrank again
    before the capture read it at that size, and X refuses the read."""
    server, x, capture, core, _clock = setup
    painter = Painter(server.name)
    first_capture(x, core, capture, painter)

    with caplog.at_level("INFO"):
        capture.resize(400, 300)  # the screen is 320x240

    assert (capture.display.width, capture.display.height) == (320, 240)
    assert "left 400x300 before it was read" in caplog.text
    assert "is now 400x300" not in caplog.text
    later = Rect.from_size(200, 200, 30, 30)
    painter.fill(later)
    wait_until(lambda: loop_turn(x, core) or painted(capture, later), what="a later capture")
