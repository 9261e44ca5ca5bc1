"""The stream detector as a state machine: batches of damage and a time in, a stream out.

Time is a plain number fed with each batch (no clock, no sleeping); pixels come from a
``read`` that returns noise (photographic) or a flat colour (not).
"""

from __future__ import annotations

import numpy as np

from spice_server.display.streams import (
    GROW_EVERY_S,
    IDLE_S,
    STREAK,
    StreamDetector,
    _even,
    covered_area,
)
from spice_server.protocol.rect import Rect

SCREEN = Rect(0, 0, 1280, 800)
WINDOW = Rect.from_size(320, 160, 640, 480)
TOP = Rect(WINDOW.left, WINDOW.top, WINDOW.right, WINDOW.top + 400)  # Xlib's first band
BOTTOM = Rect(WINDOW.left, TOP.bottom, WINDOW.right, WINDOW.bottom)
FRAME = 1 / 30


def noise(rect: Rect) -> np.ndarray:
    rng = np.random.default_rng(rect.area)
    return rng.integers(0, 1 << 24, (rect.height, rect.width), dtype=np.uint32)


def flat(rect: Rect) -> np.ndarray:
    return np.full((rect.height, rect.width), 0x336699, dtype=np.uint32)


def feed(detector: StreamDetector, batches, start: float = 0.0, read=noise):
    """Feed one batch per frame period; the streams seen after each."""
    seen = []
    for i, batch in enumerate(batches):
        seen.append(detector.observe(list(batch), start + i * FRAME, read, SCREEN))
    return seen


def test_a_window_painted_in_bands_streams_as_one_area_covering_all_of_it() -> None:
    # Each capture takes either the top band, the bottom band or both (a frame cut in two).
    pattern = [[TOP], [BOTTOM], [TOP, BOTTOM], [TOP], [BOTTOM]]
    detector = StreamDetector()
    seen = feed(detector, [pattern[i % len(pattern)] for i in range(90)])
    streams = {s.serial: s for s in seen if s is not None}
    assert len(streams) == 1, streams
    (stream,) = streams.values()
    assert stream.rect == WINDOW
    assert all(s is stream for s in seen[STREAK:])  # it lasts as long as the window moves


def test_an_area_first_seen_in_part_grows_to_the_whole_region_once() -> None:
    # The first frames change only the top of the window (the rest had the same pixels),
    # then the whole window moves: the stream becomes the whole window, once, and stays.
    detector = StreamDetector()
    seen = feed(detector, [[TOP]] * (STREAK + 2))
    first = seen[-1]
    assert first is not None and first.rect == TOP
    later = feed(detector, [[WINDOW]] * 60, start=(STREAK + 2) * FRAME)
    assert later[0] is first  # not re-created at the first frame that reaches beyond it
    grown = {s.serial: s.rect for s in later}
    assert list(grown.values()) == [TOP, WINDOW], grown
    # once grown, it holds, also through frames whose damage is smaller
    smaller = feed(detector, [[TOP], [BOTTOM]] * 20, start=(STREAK + 62) * FRAME)
    assert {s.serial for s in smaller} == {later[-1].serial}


def test_growing_waits_its_turn() -> None:
    detector = StreamDetector()
    feed(detector, [[TOP]] * STREAK)
    stream = detector.stream
    assert stream is not None
    # Damage past its edge right after it began does not re-create it yet ...
    assert detector.observe([WINDOW], STREAK * FRAME, noise, SCREEN) is stream
    # ... only once GROW_EVERY_S have passed since its area was set.
    t = (STREAK - 1) * FRAME + GROW_EVERY_S
    grown = detector.observe([WINDOW], t, noise, SCREEN)
    assert grown is not None and grown is not stream and grown.rect == WINDOW


def test_an_odd_sized_area_at_the_screen_edge_is_not_re_created_again_and_again() -> None:
    edge = Rect(SCREEN.right - 301, SCREEN.bottom - 201, SCREEN.right, SCREEN.bottom)
    detector = StreamDetector()
    seen = feed(detector, [[edge]] * 120)  # four seconds
    assert len({s.serial for s in seen if s is not None}) == 1
    assert seen[-1] is not None and seen[-1].rect == _even(edge, SCREEN)


def test_small_changes_on_a_stream_do_not_keep_it_alive() -> None:
    detector = StreamDetector()
    feed(detector, [[WINDOW]] * STREAK)
    stream = detector.stream
    assert stream is not None
    cursor = Rect.from_size(WINDOW.left + 10, WINDOW.top + 10, 2, 16)  # a blinking caret
    t = STREAK * FRAME
    for _ in range(20):
        t += FRAME
        result = detector.observe([cursor], t, noise, SCREEN)
    assert result is None  # ended: nothing but the caret changed for 20 frames


def test_a_stream_ends_when_still_and_a_window_moved_elsewhere_streams_there() -> None:
    detector = StreamDetector()
    feed(detector, [[WINDOW]] * 30)
    old = detector.stream
    assert old is not None
    moved = Rect.from_size(100, 100, 640, 480)  # overlaps the old place: a new one anyway
    t = 30 * FRAME + IDLE_S + 0.05
    assert detector.observe([], t, noise, SCREEN) is None
    seen = feed(detector, [[moved]] * 30, start=t + FRAME)
    streams = {s.serial: s.rect for s in seen if s is not None}
    assert list(streams.values()) == [moved]


def test_a_shape_bouncing_over_a_still_background_stays_lossless() -> None:
    detector = StreamDetector()
    batches = []
    x, y, dx, dy = 300, 200, 17, 11
    for _ in range(90):
        old = Rect.from_size(x, y, 120, 120)
        x, y = x + dx, y + dy
        if not 200 <= x <= 700:
            dx = -dx
        if not 100 <= y <= 500:
            dy = -dy
        batches.append([old.union(Rect.from_size(x, y, 120, 120))])
    assert all(s is None for s in feed(detector, batches))


def test_flat_content_changing_fast_is_not_video() -> None:
    detector = StreamDetector()
    assert all(s is None for s in feed(detector, [[WINDOW]] * 40, read=flat))


def test_small_or_slow_changes_are_not_video() -> None:
    detector = StreamDetector()
    small = Rect.from_size(10, 10, 80, 300)
    assert all(s is None for s in feed(detector, [[small]] * 40))
    slow = StreamDetector()
    for i in range(40):  # four frames a second
        assert slow.observe([WINDOW], i * 0.25, noise, SCREEN) is None


def test_two_regions_far_apart_are_separate_candidates() -> None:
    detector = StreamDetector()
    clock = Rect.from_size(1200, 0, 80, 20)  # a clock in a corner ticking with the video
    seen = feed(detector, [[WINDOW, clock]] * 20)
    assert seen[-1] is not None and seen[-1].rect == WINDOW


def test_even_sizes_grow_into_the_screen_or_trim_at_its_edge() -> None:
    assert _even(Rect(0, 0, 101, 51), SCREEN) == Rect(0, 0, 102, 52)
    assert _even(Rect(1179, 699, 1280, 800), SCREEN) == Rect(1179, 699, 1279, 799)
    assert _even(Rect(0, 0, 101, 51)) == Rect(0, 0, 100, 50)


def test_covered_area_counts_overlaps_once() -> None:
    a, b = Rect(0, 0, 10, 10), Rect(5, 5, 15, 15)
    assert covered_area([a, b], Rect(0, 0, 100, 100)) == 175
    assert covered_area([a, b], Rect(0, 0, 10, 10)) == 100
    assert covered_area([], a) == 0


def test_a_stream_that_grows_again_at_once_is_something_moving_and_ends() -> None:
    # A photograph in a window dragged slowly: captured without its motion found (inside
    # a stream's area the framebuffer does not look for motion), each frame's damage is
    # the window's old and new place, so the stream grows each second. A video in place
    # grows once at most; a thing that keeps moving is no video: it ends.
    detector = StreamDetector()
    x = WINDOW.left
    batches = []
    for _ in range(int(4 / FRAME)):
        old = Rect.from_size(x, WINDOW.top, WINDOW.width, WINDOW.height)
        x += 2
        batches.append([old.union(Rect.from_size(x, WINDOW.top, WINDOW.width, WINDOW.height))])
    seen = feed(detector, batches)
    areas = [s.rect for s in seen if s is not None]
    assert areas, "a slow drag of a photograph starts as a stream"
    first = next(i for i, s in enumerate(seen) if s is not None)
    ended = next((i for i, s in enumerate(seen) if i > first and s is None), None)
    assert ended is not None and (ended - first) * FRAME < 2 * GROW_EVERY_S + 0.2
