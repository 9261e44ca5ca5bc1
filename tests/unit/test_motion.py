"""Finding moved content: pans on both axes, dragged windows, scrolls; and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from spice_server import Display
from spice_server.display.framebuffer import CopyOp, Framebuffer
from spice_server.display.motion import PROBE, Motion, explained_box, find_motion, segment_matches
from spice_server.display.region import Region
from spice_server.display.streams import covered_area
from spice_server.interfaces.events import Change, PixelsChanged
from spice_server.protocol.rect import Rect

from test_display_pixels import text_like


def landscape(height: int, width: int, seed: int = 1) -> np.ndarray:
    """Smooth colour with grain: what a photo or a map looks like to a compressor."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = 128 + 90 * np.sin(x / 41.0) * np.cos(y / 29.0)
    g = 128 + 90 * np.cos(x / 17.0 + y / 53.0)
    b = (x * 3 + y * 2) % 256
    rgb = np.stack([r, g, b], -1) + rng.integers(-8, 9, (height, width, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


WORLD = landscape(900, 1200)


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -7), (5, 2), (-40, 25), (-1, -1)])
def test_a_pan_on_either_axis_is_found(dx: int, dy: int) -> None:
    old = WORLD[100:700, 200:1000]
    new = WORLD[100 - dy : 700 - dy, 200 - dx : 1000 - dx]
    assert find_motion(old, new) == Motion(dx, dy)


def test_a_dragged_window_over_a_flat_desktop_is_found() -> None:
    desktop = np.full((400, 600), 0x2E3440, dtype=np.uint32)
    window = landscape(150, 200, seed=4)
    old, new = desktop.copy(), desktop.copy()
    old[100:250, 100:300] = window
    new[130:280, 160:360] = window  # moved right 60, down 30
    assert find_motion(old, new) == Motion(60, 30)


def test_a_terminal_scroll_is_found() -> None:
    page = text_like(400)
    assert find_motion(page[:200], page[16:216]) == Motion(0, -16)


def test_a_scroll_after_a_scroll_is_found_by_row_fingerprints_alone(monkeypatch) -> None:
    """A flooding terminal scrolls by another amount at each capture, new lines half of
    what changed: probes in text match everywhere and decide nothing, so after a scroll
    they are not searched when the rows tell the new one (they cost half the search)."""
    from spice_server.display import motion

    def no_probes(*args: object) -> list[tuple[int, int]]:
        raise AssertionError("probes searched")

    page = text_like(400)
    monkeypatch.setattr(motion, "segment_matches", no_probes)
    assert find_motion(page[:200], page[96:296], Motion(0, -16)) == Motion(0, -96)


@pytest.mark.parametrize("dx, dy", [(60, 30), (5, 3), (150, 100)])
def test_a_plain_window_dragged_over_a_photograph_is_found(dx: int, dy: int) -> None:
    """Its face is one colour: the changed pixels on edges are nearly all the photograph
    it uncovers, so a motion judged by those alone lost it; judged by what it puts
    right less what it spoils, the face counts."""
    window = np.full((150, 200), 0xF0F0F0, dtype=np.uint32)
    window[[0, -1], :] = window[:, [0, -1]] = 0x303030
    old, new = WORLD[:400, :600].copy(), WORLD[:400, :600].copy()
    old[100:250, 100:300] = window
    new[100 + dy : 250 + dy, 100 + dx : 300 + dx] = window
    assert find_motion(old, new, Motion(dx, dy)) == Motion(dx, dy)


def terminal_page(lines: int, seed: int, columns: int = 80) -> np.ndarray:
    """Black 6x13 glyphs of one font (40 of them) on white, in lines of ragged length:
    what a terminal that lists files shows."""
    font = np.random.default_rng(7).random((40, 13, 6)) < 0.2
    font[:, :, 5] = font[:, 11:, :] = False  # the gaps between cells
    rng = np.random.default_rng(seed)
    page = np.full((lines * 13, columns * 6), 0xFFFFFF, dtype=np.uint32)
    for line in range(lines):
        for column in range(int(rng.integers(10, columns))):
            cell = page[line * 13 : line * 13 + 13, column * 6 : column * 6 + 6]
            cell[font[rng.integers(0, 40)]] = 0
    return page


@pytest.mark.parametrize("hint", [Motion(0, 0), Motion(0, -13)])
def test_a_terminal_filled_with_new_text_is_no_motion(hint: Motion) -> None:
    """Most of a terminal is background, and background lands on background under any
    shift: shifts that matched only that were copied at most captures of a
    flooding terminal (33 of these 40 pages), and made the images after them larger."""
    for seed in range(20):
        assert find_motion(terminal_page(50, seed), terminal_page(50, 100 + seed), hint) is None


@pytest.mark.parametrize("lines", [1, 3, 10, 30])
def test_a_terminal_scrolled_by_up_to_most_of_its_height_is_found(lines: int) -> None:
    text = terminal_page(100, seed=1)
    old, new = text[:650], text[lines * 13 : lines * 13 + 650]
    assert find_motion(old, new) == find_motion(old, new, Motion(0, -13)) == Motion(0, -13 * lines)


def test_new_content_unchanged_content_and_small_areas_are_not_motion() -> None:
    old = WORLD[:300, :400]
    assert find_motion(old, landscape(300, 400, seed=9)) is None
    assert find_motion(old, old.copy()) is None
    assert find_motion(old[:30, :30], WORLD[2:32, :30]) is None


def test_the_last_motion_is_tried_first_and_a_wrong_hint_costs_nothing() -> None:
    old, new = WORLD[100:400, 100:500], WORLD[98:398, 104:504]
    assert find_motion(old, new, Motion(-4, 2)) == Motion(-4, 2)
    assert find_motion(old, new, Motion(9, 9)) == Motion(-4, 2)


@pytest.mark.parametrize("hint", [Motion(0, -200), Motion(0, -60), Motion(150, 0)])
def test_a_small_drag_is_found_after_a_large_motion_elsewhere(hint: Motion) -> None:
    """The last motion (a page scrolled far) says nothing of a window dragged a little:
    the probes also look around no motion at all."""
    old, new = WORLD[:400, :600].copy(), WORLD[:400, :600].copy()
    window = landscape(150, 200, seed=4)
    old[100:250, 100:300] = window
    new[105:255, 107:307] = window
    damaged = np.s_[100:255, 100:307]  # what the X server reports: both places
    assert find_motion(old[damaged], new[damaged], hint) == Motion(7, 5)


def test_the_framebuffer_sends_a_pan_as_a_copy_and_the_new_strip() -> None:
    fb = Framebuffer(800, 600)
    fb.write(WORLD[:600, :800], 0, 0, diff=False)
    fb.take_damage()
    fb.write(WORLD[:600, 5:805], 0, 0, diff=True)  # the view moved 5 px to the right
    ops = fb.take_damage().ops
    assert ops[0] == CopyOp(Rect(0, 0, 795, 600), 5, 0)
    assert ops[1:] == [Rect(795, 0, 800, 600)]
    assert (fb.snapshot() == WORLD[:600, 5:805]).all()


def page_moved_with_nothing_new() -> tuple[np.ndarray, np.ndarray]:
    """A page of text scrolled back down by 6 px, on a background of its own colour,
    its first and last lines blank: the rows it uncovers show what they showed, so the
    move is the whole change (a browser's page scrolled to its top does this)."""
    page = text_like(200, 360)
    page[:8] = page[-8:] = page[0, 0]
    before = np.full((300, 400), page[0, 0], dtype=np.uint32)
    after = before.copy()
    before[40:240, 20:380] = page
    after[46:246, 20:380] = page
    return before, after


def test_content_that_only_moved_is_a_change_told_with_its_copy() -> None:
    """Nothing is left to draw after the copy, and the write is still a change: untold,
    its copy waited for the next change elsewhere (the page stayed shifted on clients)."""
    before, after = page_moved_with_nothing_new()
    fb = Framebuffer(400, 300)
    fb.write(before, 0, 0, diff=False)
    fb.take_damage()
    assert fb.write(after, 0, 0, diff=True)
    (copy,) = fb.take_damage().ops
    assert isinstance(copy, CopyOp)
    assert (copy.src_x, copy.src_y) == (copy.dest.left, copy.dest.top - 6)
    assert (fb.snapshot() == after).all()
    display = Display(400, 300)
    display.update(before, diff=False)
    changes: list[Change] = []
    display._notify = lambda instance, change: changes.append(change)  # as if added to a server
    display.update(after)
    assert changes == [PixelsChanged()]


def test_a_dragged_window_is_copied_without_the_desktop_around_it() -> None:
    """The X server reports a box larger than the window's two places (whole tiles); the
    desktop in it stays put, so only the window is copied, and only what it uncovered is
    sent as pixels."""
    desktop = WORLD[:600, :800]
    window = landscape(150, 200, seed=4)
    before, after = desktop.copy(), desktop.copy()
    before[100:250, 100:300] = window
    after[105:255, 107:307] = window
    fb = Framebuffer(800, 600)
    fb.write(before, 0, 0, diff=False)
    fb.take_damage()
    fb.write(after[96:272, 96:320], 96, 96, diff=True)  # the tiles the move touched
    ops = fb.take_damage().ops
    assert ops[0] == CopyOp(Rect(107, 105, 307, 255), 100, 100)
    sent = Region()
    sent.update(op for op in ops[1:] if isinstance(op, Rect))
    uncovered = Region()
    uncovered.update([Rect(100, 100, 300, 105), Rect(100, 105, 107, 250)])
    assert sent.area <= 2 * uncovered.area, ops  # changes are found in bands of rows
    assert (fb.snapshot() == after).all()


def panned_under_a_bar(left: int, top: int, number: int) -> np.ndarray:
    """The world seen through an 800x600 window at (left, top), with a fixed bar over it
    (a player's controls, a frame counter) whose dark marks change every frame."""
    view = WORLD[top : top + 600, left : left + 800].copy()
    view[20:40, 30:330] = 0xE0E0E0
    view[24:36, 40 + 12 * (number % 20) : 48 + 12 * (number % 20)] = 0x202020
    return view


def test_a_copy_leaves_out_what_its_write_draws_anew_inside_it() -> None:
    """The bar does not move with the view: the copy would carry it along (a ghost until
    its draw comes), so its clip leaves out the bar's box and the ghost's, and nothing
    more: the new edge's band box across the copy's border is not a hole."""
    fb = Framebuffer(800, 600)
    fb.write(panned_under_a_bar(100, 100, 0), 0, 0, diff=False)
    fb.take_damage()
    fb.write(panned_under_a_bar(104, 103, 1), 0, 0, diff=True)  # moved 4 left, 3 up
    ops = fb.take_damage().ops
    (copy,) = [op for op in ops if isinstance(op, CopyOp)]
    assert copy == CopyOp(Rect(0, 0, 796, 597), 4, 3)
    clip = np.zeros((600, 800), bool)
    for rect in copy.clip:
        assert rect.intersect(copy.dest) == rect
        clip[rect.top : rect.bottom, rect.left : rect.right] = True
    bar = np.s_[20:40, 30:330]
    ghost = np.s_[17:37, 26:326]  # where the copy would carry the bar
    assert not clip[bar].any() and not clip[ghost].any()
    holes = copy.dest.area - int(clip.sum())
    assert holes <= 24 * 308, holes  # the two boxes' union, not the rows of the edge band
    assert clip[590:597, :796].all()
    assert (fb.snapshot() == panned_under_a_bar(104, 103, 1)).all()


def test_the_box_a_motion_explains_is_that_of_every_pixel_it_explains() -> None:
    """``explained_box`` scans in from the sides; the box is the one a comparison of the
    whole area gives, for 600 random frames with a moved part and noise over it."""
    rng = np.random.default_rng(2)
    for _ in range(600):
        height, width = (int(v) for v in rng.integers(1, 150, 2))
        old = rng.integers(0, 3, (height, width)).astype(np.uint32)
        dx, dy = (int(v) for v in rng.integers(-20, 21, 2))
        new = old.copy()
        a, b = sorted(rng.integers(0, height + 1, 2))
        c, d = sorted(rng.integers(0, width + 1, 2))
        new[a:b, c:d] = np.roll(old, (dy, dx), (0, 1))[a:b, c:d]
        noise = rng.random((height, width)) < rng.random() * 0.3
        new[noise] = rng.integers(0, 3, int(noise.sum()))
        ys, xs = np.mgrid[0:height, 0:width]
        inside = (ys - dy >= 0) & (ys - dy < height) & (xs - dx >= 0) & (xs - dx < width)
        moved = old[np.clip(ys - dy, 0, height - 1), np.clip(xs - dx, 0, width - 1)]
        hits = inside & (moved == new) & (old != new)
        expected = None
        if hits.any():
            rows, cols = np.flatnonzero(hits.any(axis=1)), np.flatnonzero(hits.any(axis=0))
            expected = Rect(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        assert explained_box(old, new, Motion(dx, dy)) == expected


def web_page(scroll: int, frame: int, height: int = 600, width: int = 800) -> np.ndarray:
    """A browser's view of a long page scrolled to ``scroll``: a column of text lines
    (12 rows of antialiased glyphs every 30) between wide flat margins, a fixed animation
    at the top left that differs every frame and a scroll bar whose thumb follows the page. The
    lines fall so that every fixed probe place (rows 150, 300, 450; columns 200, 400,
    600) shows flat background."""
    rng = np.random.default_rng(7)
    page = np.full((height + 3000, width), 0xFAFAFA, dtype=np.uint32)
    for top in range(5, page.shape[0] - 12, 30):
        glyphs = rng.random((12, 300)) < 0.35
        greys = rng.integers(0x20, 0xF0, (12, 300), dtype=np.uint32) * 0x010101
        page[top : top + 12, 250:550][glyphs] = greys[glyphs]
    view = page[scroll : scroll + height].copy()
    box = np.random.default_rng(frame).integers(0, 1 << 24, (160, 200), dtype=np.uint32)
    view[40:200, 20:220] = box  # fixed: it does not scroll
    view[:, 788:800] = 0xE8E8E8
    view[scroll // 10 : scroll // 10 + 60, 790:798] = 0x909090
    return view


@pytest.mark.parametrize("dy", [8, 25, 41])
def test_a_page_scrolled_in_a_column_under_a_fixed_animation_is_found(dy: int) -> None:
    """Nothing at the fixed probe places changes and whole rows do not match (the
    animation and the scroll bar change across them): probes on the changed pixels find
    it. (Captured from a browser, most frames of such a page went whole, as images.)"""
    old, new = web_page(300, 0), web_page(300 + dy, 1)
    assert find_motion(old, new) == Motion(0, -dy)


def test_a_probe_finds_its_places_and_gives_up_where_it_shows_everywhere() -> None:
    """A probe segment is found at every place near the hint where it shows; it is
    looked for by a pixel that is not of its commonest colour (one that starts with
    background would match everywhere); and a segment that shows in too many places (a
    repeating pattern, text) says nothing."""
    old = WORLD[:300, :400]
    segment = old[150, 200 : 200 + PROBE].copy()
    assert segment_matches(old, segment, 205, 147, Motion(0, 0)) == [(5, -3)]
    assert segment_matches(old, segment, 205, 147, Motion(4, -4)) == [(5, -3)]

    desktop = np.full((300, 400), 0x2E3440, dtype=np.uint32)
    word = np.full(PROBE, 0x2E3440, dtype=np.uint32)
    word[9:13] = [0xFFFFFF, 0xE0E0E0, 0xFFFFFF, 0xD0D0D0]  # background first, then text
    desktop[100, 50 : 50 + PROBE] = word
    assert segment_matches(desktop, word, 60, 110, Motion(0, 0)) == [(10, 10)]

    pattern = np.tile(landscape(1, PROBE, seed=2), (300, 400 // PROBE))
    assert segment_matches(pattern, pattern[150, :PROBE], 96, 150, Motion(0, 0)) == []


def test_the_edges_a_pan_uncovers_go_apart_from_a_bar_near_them() -> None:
    """A bar close to the view's corner changes beside the new edges: found together, in
    bands, they made one box of the corner, most of it photograph drawn rightly by the
    copy, and on a slow link a box that size goes as JPEG, spoiling it. The edges are
    found apart from what changed inside the copy, each no thicker than the move."""

    def view(left: int, top: int, number: int) -> np.ndarray:
        pixels = WORLD[top : top + 600, left : left + 800].copy()
        pixels[8:24, 8:308] = 0xE0E0E0
        pixels[10:22, 10 + 12 * (number % 20) : 18 + 12 * (number % 20)] = 0x202020
        return pixels

    fb = Framebuffer(800, 600)
    fb.write(view(104, 100, 0), 0, 0, diff=False)
    fb.take_damage()
    fb.write(view(100, 97, 1), 0, 0, diff=True)  # moved 4 right, 3 down
    damage = fb.take_damage()
    (copy,) = [op for op in damage.ops if isinstance(op, CopyOp)]
    assert copy.dest == Rect(4, 3, 800, 600)
    edges = [Rect(0, 0, 800, 3), Rect(0, 3, 4, 600)]
    bar = Rect(8, 8, 308, 24).union(Rect(12, 11, 312, 27))  # the bar and its ghost
    for rect in (op for op in damage.ops if isinstance(op, Rect)):
        assert any(rect.intersect(part) == rect for part in [*edges, bar]), rect
    assert (fb.snapshot() == view(100, 97, 1)).all()
    # The stream detector still sees the changes cut in bands: the corner as one box.
    corner = Rect(0, 0, 312, 27)
    assert covered_area(damage.seen, corner) == corner.area
