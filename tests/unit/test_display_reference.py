"""The screens a client keeps (its cached first screen, snapshots on off-screen
surfaces): which parts of a changed area may be drawn from them, where they were or
moved, and when a screen is kept."""

from __future__ import annotations

import numpy as np
import pytest

from spice_server.channels.display.cache import (
    NOTHING,
    SEARCH_AGAIN_S,
    SNAPSHOT_EVERY_S,
    SNAPSHOT_STILL_S,
    KeptBudget,
    KeptScreens,
)
from spice_server.display.motion import STILL, Motion
from spice_server.display.reference import MAX_RUNS, MIN_RUN_ROWS, ReferenceImage
from spice_server.protocol.constants import ImageType, SurfaceFormat
from spice_server.protocol.messages.display import (
    MsgDisplayDrawCopy,
    MsgDisplayInvalAllPixmaps,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from spice_server.protocol.messages.images import unpack_image
from spice_server.protocol.rect import Rect

from fakes import FakeClock


def screen(height: int = 200, width: int = 100) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 1 << 24, size=(height, width), dtype=np.uint32)


def test_uncovered_rows_are_found_and_changed_ones_left_out() -> None:
    first = screen()
    reference = ReferenceImage(0, first.copy())
    now = first.copy()
    now[40:90] += 1  # a window still covers these rows
    rect = Rect(0, 20, 100, 160)
    runs = reference.matching_rows(rect, now[20:160])
    assert runs == [(0, 20), (70, 140)]


def test_the_gaps_between_lines_of_text_do_not_count() -> None:
    """The blank rows between lines of text match any earlier text screen: drawing them
    from the cache would cut a busy terminal into bands."""
    reference = ReferenceImage(0, np.zeros((200, 100), dtype=np.uint32))
    text = screen()
    text[np.arange(200) % 16 < 4] = 0  # four blank rows between lines of text
    rect = Rect(0, 0, 100, 200)
    assert reference.matching_rows(rect, text) == []
    # A few runs, such as the strips a moved window uncovers, do count.
    wallpaper = screen()
    reference = ReferenceImage(0, wallpaper.copy())
    uncovered = screen() + 1
    uncovered[:10], uncovered[190:] = wallpaper[:10], wallpaper[190:]
    assert reference.matching_rows(rect, uncovered) == [(0, 10), (190, 200)]
    # Shorter runs than MIN_RUN_ROWS never do.
    uncovered[10 : 10 + MIN_RUN_ROWS] = wallpaper[10 : 10 + MIN_RUN_ROWS]
    uncovered[:10] += 1
    assert reference.matching_rows(rect, uncovered) == [(10, 10 + MIN_RUN_ROWS), (190, 200)]
    uncovered[10 + MIN_RUN_ROWS - 1] += 1
    assert reference.matching_rows(rect, uncovered) == [(190, 200)]


def test_rows_of_one_colour_do_not_count() -> None:
    """A band of one colour matches any earlier screen with such a band there (the blank
    rows between a flooding terminal's lines, a page's margin) and a fill draws it in a
    few bytes: drawing it from a kept screen would only cut the area into more images."""
    first = screen()
    first[60:80] = 0x202020
    reference = ReferenceImage(0, first.copy())
    now = screen() + 1
    now[60:80] = 0x202020  # blank, as it was
    now[120:140] = first[120:140]  # a picture, as it was
    rect = Rect(0, 0, 100, 200)
    assert reference.matching_rows(rect, now) == [(120, 140)]
    # Blank rows within a run of the picture's stay in it.
    now[40:60] = first[40:60]
    assert reference.matching_rows(rect, now) == [(40, 80), (120, 140)]


def test_a_rectangle_outside_the_reference_matches_nothing() -> None:
    reference = ReferenceImage(0, screen(50, 50))
    assert reference.matching_rows(Rect(40, 40, 80, 80), screen(40, 40)) == []


def moved(first: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``first`` with its content moved by (dx, dy); what comes in from outside is new."""
    now = screen(*first.shape) + 1
    height, width = first.shape
    now[max(0, dy) : height + min(0, dy), max(0, dx) : width + min(0, dx)] = first[
        max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)
    ]
    return now


def test_moved_content_is_drawn_from_where_it_was_and_the_rest_is_not() -> None:
    first = screen()
    reference = ReferenceImage(0, first.copy())
    now = moved(first, -7, 12)  # scrolled back up a little, panned right
    rect = Rect(0, 0, 100, 200)
    assert reference.split(rect, now) == ([], [])
    same, other = reference.split(rect, now, Motion(-7, 12))
    assert same == [Rect(0, 12, 93, 200)]
    assert sorted(other) == [Rect(0, 0, 100, 12), Rect(93, 12, 100, 200)]
    # Drawn from where the content was: the same pixels, exactly.
    source = same[0].translated(7, -12)
    assert np.array_equal(
        first[source.top : source.bottom, source.left : source.right], now[12:200, 0:93]
    )


def test_a_motion_from_outside_the_reference_draws_nothing_from_there() -> None:
    """Rows whose source lies off the cached screen are not compared (a negative index
    would wrap around to the other side of it)."""
    first = screen()
    reference = ReferenceImage(0, first.copy())
    now = np.roll(first, 5, axis=1)  # what wraps around matches the other side
    assert reference.matching_rows(Rect(0, 0, 100, 200), now, Motion(5, 0)) == []
    same, _other = reference.split(Rect(0, 0, 100, 200), now, Motion(5, 0))
    assert same == [Rect(5, 0, 100, 200)]


def test_moved_content_is_found_near_where_it_was_looked_for() -> None:
    first = screen()
    reference = ReferenceImage(0, first.copy())
    now = moved(first, 9, -20)
    rect = Rect(0, 0, 100, 200)
    assert reference.places(rect, now, [STILL]) == [Motion(9, -20)]
    assert reference.places(rect, now, [Motion(200, 0)]) == []  # too far from there
    flat = np.zeros((200, 100), dtype=np.uint32)
    assert reference.places(rect, flat, [STILL]) == []  # a flat segment says nothing


def cached_screen(
    first: np.ndarray, clock: FakeClock, budget: KeptBudget | None = None
) -> KeptScreens:
    cache = KeptScreens(lz4_client=True, clock=clock, budget=budget or KeptBudget())
    cache.room = first.size
    assert cache.may_keep(first)
    cache.keep(0, first.copy())
    return cache


def test_the_cached_screen_follows_the_copies_and_finds_what_they_missed() -> None:
    first, clock = screen(), FakeClock()
    cache = cached_screen(first, clock)
    rect = Rect(0, 40, 100, 60)  # too small for a search: found only where copies took it
    now = moved(first, 3, 30)
    assert cache.draws(0, rect, now[40:60]) == NOTHING
    cache.moved(1, 10)
    cache.moved(2, 20)
    kind, (draw,), other = cache.draws(0, rect, now[40:60])
    assert kind == "cached"
    assert (draw.box, draw.src_area) == (Rect(3, 40, 100, 60), Rect(0, 10, 97, 30))
    assert other == [Rect(0, 40, 3, 60)]  # came in from the left: not in the cached screen
    assert unpack_image(draw.image).type == ImageType.FROM_CACHE
    # A larger part, moved by steps no copy followed: searched for near there.
    cache = cached_screen(first, clock)
    now = moved(first, -11, 4)
    _kind, draws, _other = cache.draws(0, Rect(0, 0, 100, 200), now)
    assert [draw.src_area for draw in draws] == [Rect(11, 0, 100, 196)]


def test_a_search_that_found_nothing_waits_but_for_a_refinement() -> None:
    """While content moves each frame's new edges are new: searching each for the
    cached screen would cost the loop time for nothing."""
    first, clock = screen(), FakeClock()
    cache = cached_screen(first, clock)
    rect = Rect(0, 0, 100, 200)
    assert cache.draws(0, rect, screen(200, 100) + 2) == NOTHING  # new: searched in vain
    found = moved(first, 6, 6)
    assert cache.draws(0, rect, found) == NOTHING  # not searched for yet
    _kind, draws, _other = cache.draws(0, rect, found, refining=True)
    assert len(draws) == 1
    cache = cached_screen(first, clock)
    assert cache.draws(0, rect, screen(200, 100) + 2) == NOTHING
    clock.time += SEARCH_AGAIN_S
    _kind, draws, _other = cache.draws(0, rect, found)
    assert len(draws) == 1


def test_a_split_tiles_its_rectangle_and_draws_only_exact_pixels() -> None:
    """Whatever the part, the motion and the rows that match: what is drawn from the
    reference is exactly the reference's pixels at the moved place, and what is drawn and
    what is sent together cover the part once."""
    rng = np.random.default_rng(3)
    first = rng.integers(0, 4, size=(60, 80), dtype=np.uint32)  # few colours: near misses
    reference = ReferenceImage(0, first.copy())
    for _ in range(300):
        dx, dy = (int(v) for v in rng.integers(-30, 31, 2))
        left, top = (int(v) for v in rng.integers(0, 60, 2))
        rect = Rect(left, top, left + int(rng.integers(1, 40)), top + int(rng.integers(1, 40)))
        now = moved(first, dx, dy)[: rect.bottom, : rect.right]
        now = np.pad(now, ((0, max(0, rect.bottom - 60)), (0, max(0, rect.right - 80))))
        pixels = now[rect.top : rect.bottom, rect.left : rect.right].copy()
        pixels[rng.random(pixels.shape[0]) < 0.3] += 9  # rows that no longer match
        same, other = reference.split(rect, pixels, Motion(dx, dy))
        covered = np.zeros((rect.height, rect.width), dtype=int)
        for part in [*same, *other]:
            covered[
                part.top - rect.top : part.bottom - rect.top,
                part.left - rect.left : part.right - rect.left,
            ] += 1
        assert (covered == 1).all() or (same, other) == ([], [])
        for part in same:
            source = part.translated(-dx, -dy)
            assert source.left >= 0 and source.right <= 80
            assert source.top >= 0 and source.bottom <= 60
            shown = pixels[
                part.top - rect.top : part.bottom - rect.top,
                part.left - rect.left : part.right - rect.left,
            ]
            cached = first[source.top : source.bottom, source.left : source.right]
            assert np.array_equal(shown, cached)


def test_a_settled_screen_is_kept_on_a_snapshot_surface_and_drawn_from() -> None:
    """The client shows the screen exactly and it has been still: it is copied to an
    off-screen surface with one draw from the primary surface, and parts showing it later
    are drawn from that surface."""
    first, clock = screen(), FakeClock()
    kept = cached_screen(first, clock)
    raised = first.copy()
    raised[50:150] = screen(100, 100) + 5  # a window over half the screen
    changed = clock.now()
    assert kept.snapshot_in(changed) == pytest.approx(SNAPSHOT_STILL_S)  # changed now
    clock.time += SNAPSHOT_STILL_S
    assert kept.snapshot_in(changed) == 0
    create, copy = kept.snapshot(0, raised.copy())
    assert create == MsgDisplaySurfaceCreate(1, 100, 200, SurfaceFormat.XRGB32, 0)
    assert isinstance(copy, MsgDisplayDrawCopy)
    assert (copy.surface_id, copy.box, copy.src_area) == (1, Rect(0, 0, 100, 200), None)
    source = unpack_image(copy.image)
    assert (source.type, source.payload) == (ImageType.SURFACE, (0).to_bytes(4, "little"))
    assert kept.snapshot_in(changed) == pytest.approx(SNAPSHOT_EVERY_S)  # looked at now
    # The window raised again over something else: drawn from the snapshot.
    kind, (draw,), other = kept.draws(0, Rect(0, 50, 100, 150), raised[50:150])
    assert (kind, draw.box, draw.src_area, other) == ("kept", Rect(0, 50, 100, 150), draw.box, [])
    assert unpack_image(draw.image).payload == (1).to_bytes(4, "little")
    # Where the window goes away again, the cached first screen still serves.
    assert kept.draws(0, Rect(0, 50, 100, 90), first[50:90]).kind == "cached"


def test_snapshots_are_of_new_screens_and_the_oldest_makes_room() -> None:
    first, clock = screen(), FakeClock()
    kept = cached_screen(first, clock)
    echoed = first.copy()
    echoed[:8] += 1  # a line of text: not new enough to keep
    assert kept.snapshot(0, echoed) == []
    screens = [screen() + n for n in (1, 2, 3)]
    assert [type(m) for m in kept.snapshot(0, screens[0])] == [
        MsgDisplaySurfaceCreate,
        MsgDisplayDrawCopy,
    ]
    assert [m.surface_id for m in kept.snapshot(0, screens[1])] == [2, 2]
    (copy,) = kept.snapshot(0, screens[2])  # the surface of the oldest, which is dropped
    assert copy.surface_id == 1
    rect = Rect(0, 0, 100, 200)
    assert kept.draws(0, rect, screens[0], refining=True) == NOTHING
    for image in screens[1:]:
        assert kept.draws(0, rect, image).kind == "kept"
    # A new surface: the client drops its snapshots and its cached screen.
    assert kept.forget() == [
        MsgDisplayInvalAllPixmaps(),
        MsgDisplaySurfaceDestroy(1),
        MsgDisplaySurfaceDestroy(2),
    ]
    assert kept.draws(0, rect, screens[2]) == NOTHING


def test_clients_without_lz4_get_snapshots_but_no_cached_first_screen() -> None:
    """spice-html5 (no LZ4): its draws from its image cache are not tested, its draws
    from other surfaces are."""
    first = screen()
    clock = FakeClock()
    kept = KeptScreens(lz4_client=False, clock=clock, budget=KeptBudget())
    kept.room = first.size
    assert not kept.may_keep(first)
    assert kept.snapshot_in(clock.now()) == pytest.approx(SNAPSHOT_STILL_S)
    assert [type(m) for m in kept.snapshot(0, first)] == [
        MsgDisplaySurfaceCreate,
        MsgDisplayDrawCopy,
    ]


def test_the_clients_of_a_display_share_what_kept_screens_may_hold() -> None:
    """Each kept screen is the screen's size; many clients together are bounded too: one
    that finds the budget spent keeps its snapshot in the surface it has, or its first
    screen not at all, and what a client held is given back when it forgets it."""
    first, clock = screen(), FakeClock()
    budget = KeptBudget(limit=5 * first.nbytes)
    one, two = cached_screen(first, clock, budget), cached_screen(first, clock, budget)
    screens = [screen() + n for n in range(1, 5)]
    assert [m.surface_id for m in one.snapshot(0, screens[0])] == [1, 1]
    assert [m.surface_id for m in one.snapshot(0, screens[1])] == [2, 2]
    assert [m.surface_id for m in two.snapshot(0, screens[0])] == [1, 1]
    assert budget.used == budget.limit  # two first screens, three snapshots
    (copy,) = two.snapshot(0, screens[1])  # no room for a second surface: the first again
    assert copy.surface_id == 1 and budget.used == budget.limit
    three = KeptScreens(lz4_client=True, clock=clock, budget=budget)
    three.room = first.size
    assert not three.may_keep(first)
    one.forget()
    assert budget.used == 2 * first.nbytes
    assert [m.surface_id for m in two.snapshot(0, screens[2])] == [2, 2]
    assert three.may_keep(first)


def test_matching_rows_finds_every_run_that_a_whole_comparison_finds() -> None:
    """The quick rejection (no row of every MIN_RUN_ROWS-th matches) never drops a run:
    checked against comparing every row, on parts whose matching rows come in runs of
    every length at every offset."""
    rng = np.random.default_rng(11)
    reference = ReferenceImage(0, rng.integers(0, 1 << 24, size=(80, 40), dtype=np.uint32))
    for _ in range(500):
        top = int(rng.integers(0, 40))
        rect = Rect(0, top, 40, top + int(rng.integers(1, 41)))
        pixels = reference.pixels[rect.top : rect.bottom].copy()
        changed = np.ones(rect.height, dtype=bool)
        for _ in range(int(rng.integers(0, 4))):  # a few runs left as they were
            start = int(rng.integers(0, rect.height))
            changed[start : start + int(rng.integers(1, 2 * MIN_RUN_ROWS + 1))] = False
        pixels[changed, int(rng.integers(0, 40))] += 1
        same = ~changed
        edges = np.diff(np.concatenate(([0], same.view(np.int8), [0])))
        runs = [
            (int(a), int(b))
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
            if b - a >= MIN_RUN_ROWS
        ]
        expected = runs if len(runs) <= MAX_RUNS else []
        assert reference.matching_rows(rect, pixels) == expected
