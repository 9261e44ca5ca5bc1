"""The x11 back end's damage region on a real Xvfb: one event per frame, rectangles or a box."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
import xcffib
import xcffib.damage
import xcffib.xfixes

from spice_server.backends.x11.damage import MAX_TRIMMED, Box, DamageRegion
from spice_server.protocol.rect import Rect

from harness import wait_until
from xserver import Painter, XServer


@pytest.fixture
def x(tmp_path: Path) -> Iterator[XServer]:
    server = XServer(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def watched(x: XServer) -> Iterator[tuple[xcffib.Connection, DamageRegion]]:
    conn = xcffib.connect(display=x.name)
    conn(xcffib.damage.key).QueryVersion(1, 1).reply()
    conn(xcffib.xfixes.key).QueryVersion(5, 0).reply()
    damage = DamageRegion(conn, conn.get_setup().roots[0].root, 1024, 768)
    take(damage)  # whatever Xvfb drew at start
    drain(conn, damage)
    yield conn, damage
    conn.disconnect()


def drain(conn: xcffib.Connection, damage: DamageRegion) -> int:
    notifies = 0
    while (event := conn.poll_for_event()) is not None:
        notifies += damage.is_notify(event)
    return notifies


def take(damage: DamageRegion) -> list[Rect]:
    return [box.rect for box in damage.boxes(damage.request())]


def covers(rects: list[Rect], rect: Rect) -> bool:
    area = sum(r.intersect(rect).area for r in rects if not r.intersect(rect).is_empty())
    return area == rect.area


def test_a_few_rectangles_come_back_as_small_boxes(x, watched):
    conn, damage = watched
    painter = Painter(x.name)
    drawn = [Rect.from_size(10, 10, 30, 20), Rect.from_size(700, 500, 40, 40)]
    for rect in drawn:  # X reports one request's rectangles as their bounding box
        painter.fill(rect)
    wait_until(lambda: drain(conn, damage), what="a damage notify")
    taken = take(damage)
    assert all(covers(taken, rect) for rect in drawn)
    assert sum(r.area for r in taken) < 2 * 64 * 64  # not the bounding box of the two
    assert take(damage) == []


def test_many_draws_raise_one_event_and_come_back_as_the_boxes_of_their_parts(x, watched):
    """A flood of rectangles in two places (a terminal flooding, another one echoing a key
    beside it) is two boxes, each around its own rectangles, not one around both."""
    conn, damage = watched
    painter = Painter(x.name)
    glyphs = [(column, line) for line in range(20) for column in range(5 + line % 7)]
    flood = [Rect.from_size(103 + 6 * c, 51 + 13 * line, 6, 13) for c, line in glyphs]
    assert len(flood) > MAX_TRIMMED
    echo = [Rect.from_size(900 + 4 * i, 700, 3, 9) for i in range(5)]
    for rect in flood + echo:
        painter.fill(rect)
    wait_until(lambda: conn.poll_for_event() is not None, what="the first event")
    conn.core.GetInputFocus().reply()  # every event sent so far has been read
    assert drain(conn, damage) == 0  # one event for all of them, already read
    flood_box = functools.reduce(Rect.union, flood)
    assert sorted(take(damage)) == [flood_box, echo[0].union(echo[-1])]


def test_the_region_is_clipped_to_the_screen(x, watched):
    conn, damage = watched
    damage.resize(512, 384)  # the screen shrank (RandR)
    Painter(x.name).fill(Rect.from_size(500, 380, 40, 40))
    wait_until(lambda: drain(conn, damage), what="a damage notify")
    assert take(damage) == [Rect(500, 380, 512, 384)]  # what was drawn, inside the screen


def test_a_box_of_tiles_is_trimmed_to_what_x_reported_in_it(x, watched):
    """A window off the tile grid is captured as itself, not with a margin of the screen
    around it (a pan found in the box would move the margin too)."""
    conn, damage = watched
    painter = Painter(x.name)
    drawn = [Rect.from_size(37, 21, 300, 200), Rect.from_size(420, 300, 90, 50)]
    for rect in drawn:
        painter.fill(rect)
    wait_until(lambda: drain(conn, damage), what="a damage notify")
    assert sorted(take(damage), key=lambda r: r.left) == drawn


def test_drawing_around_a_window_is_one_box_that_lists_what_was_drawn(x, watched):
    """A video under a window is reported around it: one box to capture, with the parts
    drawn, so that the window stays out of the video's stream (streams.py's clip)."""
    conn, damage = watched
    painter = Painter(x.name)
    video, window = Rect.from_size(100, 100, 400, 300), Rect.from_size(80, 320, 150, 100)
    around = [
        Rect(video.left, video.top, video.right, window.top),
        Rect(window.right, window.top, video.right, video.bottom),
    ]
    for rect in around:
        painter.fill(rect)
    wait_until(lambda: drain(conn, damage), what="a damage notify")
    (box,) = damage.boxes(damage.request())
    assert box.rect == video
    assert sum(r.area for r in box.drawn) == sum(r.area for r in around)
    assert all(covers(list(box.drawn), rect) for rect in around)
    assert all(r.intersect(window).is_empty() for r in box.drawn)
    painter.fill(video)  # all of it: nothing to list
    wait_until(lambda: drain(conn, damage), what="a damage notify")
    assert damage.boxes(damage.request()) == [Box(video)]
