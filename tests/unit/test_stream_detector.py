"""The stream detector as a state machine: batches of damage and a time in, a stream out.

Time is a plain number fed with each batch (no clock, no sleeping); pixels come from a
``read`` that returns noise (photographic) or a flat colour (not).
"""

from __future__ import annotations

import numpy as np

from spice_server.display.streams import (
    CLIP_BACK,
    CLIP_FRAMES,
    GROW_EVERY_S,
    IDLE_S,
    MAX_CLIP_RECTS,
    MAX_STREAMS,
    STREAK,
    Stream,
    StreamDetector,
    _even,
    clip_of,
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


def only(streams: list[Stream]) -> Stream | None:
    """The one stream of a detector that must have at most one."""
    assert len(streams) <= 1, streams
    return streams[0] if streams else None


def feed_all(detector: StreamDetector, batches, start: float = 0.0, read=noise):
    """Feed one batch per frame period; the list of streams seen after each."""
    return [
        detector.observe(list(batch), start + i * FRAME, read, SCREEN)
        for i, batch in enumerate(batches)
    ]


def feed(detector: StreamDetector, batches, start: float = 0.0, read=noise):
    """Feed one batch per frame period; the one stream (or None) seen after each."""
    return [only(streams) for streams in feed_all(detector, batches, start, read)]


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
    stream = only(detector.streams)
    assert stream is not None
    # Damage past its edge right after it began does not re-create it yet ...
    assert only(detector.observe([WINDOW], STREAK * FRAME, noise, SCREEN)) is stream
    # ... only once GROW_EVERY_S have passed since its area was set.
    t = (STREAK - 1) * FRAME + GROW_EVERY_S
    grown = only(detector.observe([WINDOW], t, noise, SCREEN))
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
    stream = only(detector.streams)
    assert stream is not None
    cursor = Rect.from_size(WINDOW.left + 10, WINDOW.top + 10, 2, 16)  # a blinking caret
    t = STREAK * FRAME
    for _ in range(20):
        t += FRAME
        result = only(detector.observe([cursor], t, noise, SCREEN))
    assert result is None  # ended: nothing but the caret changed for 20 frames


def test_a_stream_ends_when_still_and_a_window_moved_elsewhere_streams_there() -> None:
    detector = StreamDetector()
    feed(detector, [[WINDOW]] * 30)
    old = only(detector.streams)
    assert old is not None
    moved = Rect.from_size(100, 100, 640, 480)  # overlaps the old place: a new one anyway
    t = 30 * FRAME + IDLE_S + 0.05
    assert only(detector.observe([], t, noise, SCREEN)) is None
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
        assert only(slow.observe([WINDOW], i * 0.25, noise, SCREEN)) is None


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


LEFT = Rect.from_size(40, 40, 480, 360)  # two videos side by side, far apart
RIGHT = Rect.from_size(720, 360, 480, 360)


def test_two_regions_moving_at_once_are_two_streams_each_ending_when_it_stops() -> None:
    detector = StreamDetector()
    seen = feed_all(detector, [[LEFT, RIGHT]] * 60)
    assert [sorted((s.rect.left, s.rect.top) for s in streams) for streams in seen[STREAK:]] == [
        [(LEFT.left, LEFT.top), (RIGHT.left, RIGHT.top)]
    ] * (60 - STREAK)
    left, right = (next(s for s in seen[-1] if s.rect == area) for area in (LEFT, RIGHT))
    # Each lasts as long as its region moves: the same stream all along.
    assert all(left in streams and right in streams for streams in seen[STREAK:])
    # The left one stops; the right one goes on, unchanged; the left ends alone.
    later = feed_all(detector, [[RIGHT]] * 30, start=60 * FRAME)
    assert later[0] == [left, right]
    assert later[-1] == [right]
    ended = next(i for i, streams in enumerate(later) if left not in streams)
    assert (ended + 1) * FRAME <= IDLE_S + FRAME  # by the end rules of a single stream
    # It moves again: a new stream of its own beside the running one.
    again = feed_all(detector, [[LEFT, RIGHT]] * (STREAK + 1), start=90 * FRAME)
    assert right in again[-1] and len(again[-1]) == 2
    assert {s.rect for s in again[-1]} == {LEFT, RIGHT}


def test_two_regions_painted_in_bands_each_stream_as_a_whole() -> None:
    def bands(area: Rect) -> list[list[Rect]]:
        top = Rect(area.left, area.top, area.right, area.top + 300)
        bottom = Rect(area.left, top.bottom, area.right, area.bottom)
        return [[top], [bottom], [top, bottom]]

    pattern = [a + b for a, b in zip(bands(LEFT), reversed(bands(RIGHT)), strict=True)]
    detector = StreamDetector()
    seen = feed_all(detector, [pattern[i % 3] for i in range(90)])
    serials = {s.serial: s.rect for streams in seen for s in streams}
    assert sorted(serials.values(), key=lambda r: r.left) == [LEFT, RIGHT], serials


def test_a_stream_grown_onto_another_takes_it_over() -> None:
    detector = StreamDetector()
    near_right = Rect(LEFT.right + 40, LEFT.top, LEFT.right + 240, LEFT.bottom)
    feed_all(detector, [[LEFT, near_right]] * STREAK)
    assert len(detector.streams) == 2
    # Both grow into the gap between them (a window resized over the other's edge).
    whole = LEFT.union(near_right)
    seen = feed_all(detector, [[whole]] * 45, start=STREAK * FRAME)
    assert [s.rect for s in seen[-1]] == [whole]


def test_no_more_streams_than_the_limit_and_none_over_another() -> None:
    detector = StreamDetector()
    areas = [Rect.from_size(20 + 250 * i, 20, 200, 150) for i in range(MAX_STREAMS + 1)]
    seen = feed_all(detector, [areas] * (STREAK + 5))
    assert len(seen[-1]) == MAX_STREAMS
    rects = [s.rect for s in seen[-1]]
    assert all(a.intersect(b).is_empty() for a in rects for b in rects if a is not b)


# A window over the video's lower left: X reports the video's drawing around it.
OVER = Rect(WINDOW.left - 40, WINDOW.top + 300, WINDOW.left + 200, WINDOW.bottom + 20)
AROUND = [
    Rect(WINDOW.left, WINDOW.top, WINDOW.right, OVER.top),
    Rect(OVER.right, OVER.top, WINDOW.right, WINDOW.bottom),
]
ECHO = Rect.from_size(OVER.left + 50, OVER.top + 30, 7, 13)  # a key typed into the window


def clips(detector: StreamDetector, batches, start: float) -> list[tuple[Rect, ...] | None]:
    """Feed one batch per frame period; the one stream's clip after each (None: none)."""
    seen = []
    for i, batch in enumerate(batches):
        stream = only(detector.observe(list(batch), start + i * FRAME, noise, SCREEN))
        seen.append(None if stream is None else stream.clip)
    return seen


def test_a_window_over_a_stream_is_left_out_of_its_clip_and_an_echo_does_not_take_it_back() -> None:
    detector = StreamDetector()
    stream = feed(detector, [[WINDOW]] * STREAK)[-1]
    assert stream is not None and stream.rect == WINDOW and stream.clip == ()
    start = STREAK * FRAME
    # The window appears: until CLIP_FRAMES frames drew around it, the clip stays whole.
    seen = clips(detector, [AROUND] * CLIP_FRAMES, start)
    assert seen[:-1] == [()] * (CLIP_FRAMES - 1)
    clip = seen[-1]
    assert clip is not None and covered_area(clip, WINDOW) == covered_area(AROUND, WINDOW)
    assert all(r.intersect(OVER).is_empty() for r in clip), clip
    assert detector.streams == [stream]  # the same stream: no new one for the clients
    # A key's echo in the window, with a frame or alone: the clip does not take it in.
    start += CLIP_FRAMES * FRAME
    assert clips(detector, [[*AROUND, ECHO], [ECHO], AROUND, AROUND], start) == [clip] * 4
    # The window goes: once CLIP_BACK frames drew there, the stream draws all its area.
    start += 4 * FRAME
    seen = clips(detector, [[WINDOW]] * CLIP_BACK, start)
    assert seen == [clip] * (CLIP_BACK - 1) + [()]


def test_a_clip_is_where_the_last_frames_drew_or_all_of_the_area() -> None:
    area = Rect(0, 0, 100, 100)
    top, bottom = Rect(0, 0, 100, 60), Rect(0, 60, 100, 100)
    # Frames in bands (a capture took the top of one and the bottom of the next): all.
    assert clip_of(area, [[top], [bottom], [top], [top, bottom]], ()) == ()
    # Nothing left out, or nothing drawn: all of it.
    assert clip_of(area, [[area]] * CLIP_FRAMES, ()) == ()
    assert clip_of(area, [[]] * CLIP_FRAMES, ()) == ()
    # A part no frame drew on is left out, exactly.
    left_out = Rect(10, 70, 40, 90)
    around = [Rect(0, 0, 100, 70), Rect(0, 70, 10, 90), Rect(40, 70, 100, 90)]
    around.append(Rect(0, 90, 100, 100))
    clip = clip_of(area, [around] * CLIP_FRAMES, ())
    assert covered_area(clip, area) == area.area - left_out.area
    assert all(r.intersect(left_out).is_empty() for r in clip)
    # A part drawn on by fewer than CLIP_BACK of the last frames stays out.
    again = [around] * (CLIP_FRAMES - CLIP_BACK + 1) + [[area]] * (CLIP_BACK - 1)
    assert clip_of(area, again, clip) == clip
    # Too many pieces to list: all of it. (Every other column of the last row drawn.)
    comb = [Rect(0, 0, 100, 99)] + [Rect(x, 99, x + 1, 100) for x in range(0, 100, 2)]
    assert len(comb) - 1 > MAX_CLIP_RECTS
    assert clip_of(area, [comb] * CLIP_FRAMES, ()) == ()
