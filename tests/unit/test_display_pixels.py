"""Framebuffers, damage detection, regions and image encoders."""

from __future__ import annotations

import struct

import lz4.block
import numpy as np
import pytest

from spice_server.display.cursor import CursorImage, default_arrow
from spice_server.display.damage import changed_rects
from spice_server.display.encoding import (
    BEST,
    FAST,
    HC_FAST_MAX_BYTES,
    HC_MAX_BYTES,
    NEAR,
    encode_bitmap,
    encode_lz4,
    lz4_max_level,
    lz4_options,
    lz4_packs_rows,
    packed_rgb,
)
from spice_server.display.framebuffer import Framebuffer, as_pixels
from spice_server.display.pixelset import PixelSet
from spice_server.display.region import Region
from spice_server.protocol.messages.images import unpack_image
from spice_server.protocol.rect import Rect


def covered(rects: list[Rect], shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for r in rects:
        mask[r.top : r.bottom, r.left : r.right] = True
    return mask


def test_rect_basics() -> None:
    r = Rect.from_size(10, 20, 30, 40)
    assert (r.width, r.height, r.area) == (30, 40, 1200)
    assert r.intersect(Rect(0, 0, 15, 25)) == Rect(10, 20, 15, 25)
    assert Rect(0, 0, 5, 5).intersect(Rect(6, 6, 9, 9)).is_empty()
    assert Rect(0, 0, 5, 5).touches(Rect(5, 0, 9, 5))
    assert not Rect(0, 0, 5, 5).touches(Rect(6, 0, 9, 5))
    assert r.pack() == struct.pack("<4i", 20, 10, 60, 40)
    assert Rect.unpack_from(r.pack()) == r


def test_changed_rects_cover_exactly_the_changes_in_bands() -> None:
    rng = np.random.default_rng(0)
    old = rng.integers(0, 1 << 24, (100, 80), dtype=np.uint32)
    new = old.copy()
    new[3, 5] ^= 1
    new[40:44, 10:70] = 7
    rects = changed_rects(old, new, x=100, y=200)
    mask = covered(
        [Rect(r.left - 100, r.top - 200, r.right - 100, r.bottom - 200) for r in rects], old.shape
    )
    assert mask[old != new].all()
    assert Rect(105, 203, 106, 204) in rects  # a single pixel stays a single pixel
    assert changed_rects(old, old.copy()) == []


def test_lines_of_text_a_few_rows_apart_come_out_as_one_rectangle() -> None:
    """A terminal's new lines, ragged and with blank rows between them (here across the
    bands' borders), are one change: sent as a dozen strips they cost more bytes and
    work than as one image whose blank rows compress to nothing."""
    old = np.zeros((200, 480), dtype=np.uint32)
    new = old.copy()
    for top in range(3, 190, 13):  # lines of glyph rows 11 high, 2 blank rows between
        new[top : top + 11, 3 : 3 + 300 + (top * 7) % 170] = 0xFFFFFF
    rects = changed_rects(old, new)
    assert covered(rects, old.shape)[old != new].all()
    assert len(rects) <= 2
    far = old.copy()  # the same two lines, far apart, stay two changes
    far[0:11, 3:300] = far[100:111, 3:300] = 0xFFFFFF
    assert len(changed_rects(old, far)) == 2


def test_region_merges_neighbours_and_stays_short() -> None:
    region = Region()
    region.add(Rect(0, 0, 10, 10))
    region.add(Rect(10, 0, 20, 10))  # shares an edge: merged without waste
    assert list(region) == [Rect(0, 0, 20, 10)]
    region.add(Rect(100, 100, 110, 110))  # far away: kept apart
    assert len(region) == 2
    for i in range(50):
        region.add(Rect(i * 20, 500, i * 20 + 5, 505))
    assert len(region) <= region.max_rects
    assert covered(list(region), (600, 1100))[500:505, 0:5].all()
    smallest = min(region, key=lambda r: r.area)
    assert region.pop() == smallest  # small changes first: what the user waits for
    region.clip(Rect(0, 0, 50, 50))
    assert all(r.right <= 50 and r.bottom <= 50 for r in region)
    region.clear()
    assert not region and region.area == 0


def test_a_full_region_merges_the_first_pair_that_wastes_least() -> None:
    """The pair merged when a region has too many rectangles: of all pairs, the one whose
    union covers least beyond the two, the first in order on a tie (many rectangles of a
    terminal's lines waste alike); here against every pair tried one by one."""

    def expected(rects: list[Rect]) -> list[Rect]:
        pairs = [(i, j) for i in range(len(rects)) for j in range(i + 1, len(rects))]
        i, j = min(
            pairs,
            key=lambda p: rects[p[0]].union(rects[p[1]]).area - rects[p[0]].area - rects[p[1]].area,
        )
        return [r for k, r in enumerate(rects) if k not in (i, j)] + [rects[i].union(rects[j])]

    rng = np.random.default_rng(3)
    for trial in range(200):
        region = Region(max_rects=int(rng.integers(1, 20)), slack=0.0)  # no merge on adding
        rects: list[Rect] = []
        for _ in range(int(rng.integers(2, 40))):
            left, top = (int(v) for v in rng.integers(0, 300, 2) // (16 if trial % 2 else 1))
            rect = Rect(left, top, left + int(rng.integers(1, 50)), top + int(rng.integers(1, 20)))
            rects.append(rect)
            while len(rects) > region.max_rects:
                rects = expected(rects)
            region.add(rect)
            assert list(region) == rects


def test_framebuffer_write_diff_and_damage() -> None:
    fb = Framebuffer(64, 32)
    taken = fb.take_damage()
    generation, damage = taken.generation, taken.ops
    assert generation == 0 and damage == []
    patch = np.full((4, 4), 0x123456, dtype=np.uint32)
    assert fb.write(patch, 60, 30, diff=True)  # clipped to 4x2
    damage = fb.take_damage().ops
    assert damage == [Rect(60, 30, 64, 32)]
    assert not fb.write(patch, 60, 30, diff=True)  # nothing changed, no damage
    assert fb.take_damage().ops == []
    assert fb.write(patch, 60, 30, diff=False)
    assert fb.take_damage().ops == [Rect(60, 30, 64, 32)]
    _, pixels = fb.read(Rect(58, 28, 64, 32))
    assert pixels.shape == (4, 6) and pixels[2, 2] == 0x123456 and pixels[0, 0] == 0
    assert not fb.write(patch, 100, 100, diff=True)


def test_uncompared_writes_change_only_what_was_drawn_unmerged() -> None:
    """In a stream's area (hot) pixels are not compared: the change is what the caller
    says was drawn, kept as it is (a window over a video stays out of the video)."""
    fb = Framebuffer(64, 48)
    fb.take_damage()
    fb.hot = (Rect(0, 0, 64, 48),)
    around = [Rect(0, 0, 64, 30), Rect(20, 30, 64, 48)]  # a window at (0, 30)-(20, 48)
    frame = np.full((48, 64), 0x123456, dtype=np.uint32)
    assert fb.write(frame, 0, 0, diff=True, drawn=around)
    assert sorted(fb.take_damage().ops) == sorted(around)
    assert fb.snapshot()[40, 10] == 0x123456  # all of it is written all the same
    assert fb.write(frame + 1, 0, 0, diff=True)  # nothing said: all of it
    assert fb.take_damage().ops == [Rect(0, 0, 64, 48)]
    fb.hot = ()
    assert fb.write(frame, 0, 0, diff=True, drawn=around)  # compared: what differs
    assert fb.take_damage().ops == [Rect(0, 0, 64, 48)]


def test_framebuffer_resize_and_invalidate() -> None:
    fb = Framebuffer(10, 10)
    fb.resize(20, 5)
    taken = fb.take_damage()
    generation, damage = taken.generation, taken.ops
    assert generation == 1 and damage == [Rect(0, 0, 20, 5)]
    fb.invalidate(Rect(15, 0, 40, 40))
    assert fb.take_damage().ops == [Rect(15, 0, 20, 5)]
    assert fb.fill(Rect(0, 0, 2, 2), 0xFF0000)
    assert fb.snapshot()[1, 1] == 0xFF0000
    with pytest.raises(ValueError, match="out of range"):
        fb.resize(0, 10)


def test_as_pixels_accepts_arrays_and_strided_bytes() -> None:
    bgrx = np.zeros((2, 3, 4), dtype=np.uint8)
    bgrx[0, 1] = (0x33, 0x22, 0x11, 0)
    pixels = as_pixels(bgrx)
    assert pixels.shape == (2, 3) and pixels[0, 1] == 0x112233
    rows = bytes([1, 2, 3, 0, 9, 9]) + bytes([4, 5, 6, 0, 9, 9])  # stride 6, width 1
    assert as_pixels(rows, width=1, stride=6).tolist() == [[0x030201], [0x060504]]
    with pytest.raises(ValueError, match="width"):
        as_pixels(b"1234")
    with pytest.raises(ValueError, match="stride"):
        as_pixels(bytes(16), width=2, stride=4)
    with pytest.raises(ValueError, match="uint32"):
        as_pixels(np.zeros((2, 2), dtype=np.float32))


def test_bitmap_and_lz4_images_round_trip() -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 1 << 24, (17, 23), dtype=np.uint32)
    pixels[5:10] = 0x00FF00
    bitmap = unpack_image(encode_bitmap(pixels))
    assert (bitmap.type, bitmap.width, bitmap.height) == (0, 23, 17)
    assert struct.unpack_from("<BBIIII", bitmap.payload) == (8, 4, 23, 17, 92, 0)
    assert bitmap.payload[18:] == pixels.tobytes()

    image = unpack_image(encode_lz4(pixels))
    assert (image.type, image.width, image.height) == (109, 23, 17)
    (size,) = struct.unpack_from("<I", image.payload)
    data = image.payload[4:]
    assert len(data) == size and data[:2] == bytes([1, 7])  # top-down, 24-bit
    decoded = b""
    offset = 2
    while offset < len(data):
        (block,) = struct.unpack_from(">I", data, offset)
        decoded += lz4.block.decompress(
            data[offset + 4 : offset + 4 + block], uncompressed_size=23 * 17 * 3
        )
        offset += 4 + block
    assert decoded == pixels.view(np.uint8).reshape(17, 23, 4)[:, :, :3].tobytes()  # B, G, R


def test_cursor_images_are_validated() -> None:
    arrow = default_arrow()
    assert arrow.width * arrow.height * 4 == len(arrow.pixels)
    with pytest.raises(ValueError, match="hotspot"):
        CursorImage(2, 2, 5, 0, bytes(16))
    with pytest.raises(ValueError, match="width \\* height \\* 4"):
        CursorImage(2, 2, 0, 0, bytes(15))
    with pytest.raises(ValueError, match="out of range"):
        CursorImage(0, 2, 0, 0, b"")


def test_tile_map_gathers_many_reports_into_few_boxes() -> None:
    from spice_server.display.damage import TileMap

    tiles = TileMap(200, 100, tile=10)
    for y in range(0, 60, 6):  # ragged "text lines", one report per glyph
        for x in range(0, 40 + y, 6):
            tiles.mark(x, y, 6, 6)
    tiles.mark(150, 80, 5, 5)  # something unrelated, far away
    boxes = tiles.take()
    assert sorted(boxes) == [Rect(0, 0, 100, 60), Rect(150, 80, 160, 90)]
    assert tiles.take() == []
    tiles.mark(195, 95, 20, 20)  # reports past the edge are clipped
    assert tiles.take() == [Rect(190, 90, 200, 100)]
    # Many at once, as arrays: the same tiles as one by one (one outside the map).
    rng = np.random.default_rng(3)
    xs, ys = rng.integers(-20, 200, 300), rng.integers(-20, 100, 300)
    ws, hs = rng.integers(0, 12, 300), rng.integers(0, 12, 300)
    one_by_one = TileMap(200, 100, tile=10)
    for x, y, w, h in zip(xs, ys, ws, hs, strict=True):
        one_by_one.mark(int(x), int(y), int(w), int(h))
    tiles.mark(xs, ys, ws, hs)
    assert np.array_equal(tiles._mask, one_by_one._mask)


def test_a_tile_map_too_ragged_to_follow_is_one_box() -> None:
    from spice_server.display.damage import MAX_RUNS, TileMap

    tiles = TileMap(4096, 4096, tile=4)
    spots = np.arange(0, 8 * MAX_RUNS, 8)  # a row of separate tiles: as many runs
    tiles.mark(spots, 40, 1, 1)
    tiles.mark(100, 4000, 2, 2)  # and one more
    assert tiles.take() == [Rect(0, 40, 8 * MAX_RUNS - 4, 4004)]
    assert not tiles


def test_a_few_rectangles_are_grouped_by_the_tiles_they_touch() -> None:
    """``tile_parts``: the connected parts of the rectangles' tiles (found here by a flood
    fill over the grid), each as the box of its own rectangles, for 500 random sets."""
    from spice_server.display.damage import tile_parts

    rng = np.random.default_rng(7)
    for _ in range(500):
        count = int(rng.integers(1, 17))
        rects = [
            Rect.from_size(*(int(v) for v in rng.integers((0, 0, 0, 0), (300, 200, 60, 60))))
            for _ in range(count)
        ]
        grid = -np.ones((16, 24), int)  # each tile's rectangle, -1 for none
        for i, r in enumerate(rects):
            if not r.is_empty():
                grid[r.top // 16 : -(-r.bottom // 16), r.left // 16 : -(-r.right // 16)] = i
        label = -np.ones_like(grid)
        for start in zip(*np.nonzero(grid >= 0), strict=True):
            if label[start] >= 0:
                continue
            label[start], todo = grid[start], [start]
            while todo:
                y, x = todo.pop()
                for near in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    inside = 0 <= near[0] < 16 and 0 <= near[1] < 24
                    if inside and grid[near] >= 0 and label[near] < 0:
                        label[near] = label[start]
                        todo.append(near)
        expected: dict[int, Rect] = {}
        for r in rects:
            if not r.is_empty():
                at = int(label[r.top // 16, r.left // 16])
                expected[at] = expected[at].union(r) if at in expected else r
        assert sorted(tile_parts(rects)) == sorted(expected.values())


def text_like(rows: int, width: int = 200, seed: int = 0) -> np.ndarray:
    """Lines of 'glyphs': every 8-row line has its own random dots on a flat background."""
    rng = np.random.default_rng(seed)
    page = np.full((rows, width), 0x101010, dtype=np.uint32)
    for top in range(0, rows, 8):
        dots = rng.random((6, width)) < 0.3
        page[top + 1 : top + 7][dots] = 0xE0E0E0
    return page


def test_vertical_shift_finds_scrolls_and_nothing_else() -> None:
    from spice_server.display.damage import vertical_shift

    page = text_like(400)
    assert vertical_shift(page[:200], page[16:216]) == 16  # scrolled up two lines
    assert vertical_shift(page[16:216], page[:200]) == -16  # and down
    assert vertical_shift(page[:200], page[:200].copy()) == 0
    assert vertical_shift(page[:200], text_like(200, seed=5)) == 0  # new content
    assert vertical_shift(page[:30], page[8:38]) == 0  # too small to bother


def test_row_fingerprints_are_the_weighted_sums_modulo_2_to_the_64() -> None:
    """The fingerprint is computed as a matrix product of unsigned 64-bit integers
    (numpy's own loop, not a float library): it must wrap modulo 2**64 as the weighted
    sum it stands for does, the largest pixels too."""
    from spice_server.display.damage import _WEIGHTS, _row_signatures

    rng = np.random.default_rng(7)
    rows = rng.integers(0, 1 << 32, (5, 301), dtype=np.uint32)
    rows[0] = 0xFFFFFFFF  # the largest products, summed
    expected = [
        sum(int(p) * int(w) for p, w in zip(row[::3], _WEIGHTS, strict=False)) % (1 << 64)
        for row in rows
    ]
    assert _row_signatures(rows).tolist() == expected


def test_framebuffer_records_a_scroll_as_a_copy_in_order() -> None:
    from spice_server.display.framebuffer import CopyOp

    page = text_like(400)
    fb = Framebuffer(200, 300)
    fb.write(page[:300], 0, 0, diff=False)
    fb.take_damage()
    fb.write(np.full((5, 5), 7, dtype=np.uint32), 190, 0, diff=True)  # before the scroll
    fb.write(page[66:266], 0, 50, diff=True)  # the area 50..250 scrolls up by 16 rows
    ops = fb.take_damage().ops
    copies = [op for op in ops if isinstance(op, CopyOp)]
    assert copies == [CopyOp(Rect(0, 50, 200, 234), 0, 66)]
    assert ops.index(copies[0]) == 1 and ops[0] == Rect(190, 0, 195, 5)
    changed = [op for op in ops[2:] if isinstance(op, Rect)]  # only the new bottom lines
    assert all(r.top >= 234 - 8 for r in changed), changed
    assert np.array_equal(fb.snapshot()[50:250], page[66:266])


def test_lz4_level_follows_the_image_size_and_every_level_decodes() -> None:
    """Small images (text, an echo) get LZ4's best mode, large ones its fast mode, so no
    image costs the loop more than a few ms; the client decodes each the same way."""
    assert lz4_options(HC_MAX_BYTES)["compression"] == 9
    assert lz4_options(HC_MAX_BYTES + 4)["compression"] == 3
    assert lz4_options(HC_FAST_MAX_BYTES + 4) == {"mode": "default"}
    assert lz4_options(1024, max_level=NEAR)["compression"] == 3
    assert lz4_max_level(0.001, rtt=0.003, rate=None) == NEAR  # loopback, a LAN
    assert lz4_max_level(0.001, rtt=0.003, rate=0.6e6) == BEST  # near but slow (5 Mbit/s)
    assert lz4_max_level(0.001, rtt=0.08, rate=2.5e6) == NEAR  # far but fast enough
    assert lz4_max_level(0.001, rtt=0.08, rate=None) == BEST  # far, rate unknown
    assert lz4_max_level(0.005, rtt=0.003, rate=None) == FAST  # the pump spent its time
    text = np.zeros((64, 256), dtype=np.uint32)
    text[np.arange(64) % 8 < 5, ::3] = 0xFFFFFF  # repetitive, like lines of glyphs
    sizes = {}
    for best in (True, False):
        image = unpack_image(encode_lz4(text, max_level=BEST if best else FAST))
        block = image.payload[4 + 2 + 4 :]
        decoded = lz4.block.decompress(block, uncompressed_size=text.size * 3)
        assert decoded == packed_rgb(text).tobytes()
        sizes[best] = len(block)
    assert sizes[True] < sizes[False]


def test_lz4_packs_its_rows_to_24_bits_only_where_bytes_cost() -> None:
    """24-bit rows save bytes but cost a busy client a conversion: only on a slow or far
    link; either way the rows decode to the pixels."""
    assert not lz4_packs_rows(rtt=0.0002, rate=None)  # loopback, a LAN: the client's time
    assert not lz4_packs_rows(rtt=0.004, rate=12.5e6)  # 100 Mbit/s
    assert lz4_packs_rows(rtt=0.02, rate=2.5e6)  # 20 Mbit/s
    assert lz4_packs_rows(rtt=0.003, rate=0.6e6)  # near but slow
    assert lz4_packs_rows(rtt=0.08, rate=None)  # far, rate unknown
    pixels = np.random.default_rng(5).integers(0, 1 << 32, (17, 23), dtype=np.uint32)
    for packed, fmt, size in ((True, 7, 3), (False, 8, 4)):
        image = unpack_image(encode_lz4(pixels, packed=packed))
        assert image.payload[4:6] == bytes([1, fmt])  # top-down, 24- or 32-bit
        rows = lz4.block.decompress(image.payload[10:], uncompressed_size=pixels.size * size)
        assert rows == (packed_rgb(pixels).tobytes() if packed else pixels.tobytes())


def test_a_pixel_set_follows_adds_removes_and_moves_exactly() -> None:
    pixels = PixelSet(256, 64)
    assert not pixels and pixels.take() == []
    pixels.add(Rect(4, 4, 20, 12))
    pixels.add(Rect(250, 40, 270, 70))  # clipped to the surface
    pixels.remove(Rect(0, 0, 30, 6))
    want = np.zeros((64, 256), bool)
    want[6:12, 4:20] = True
    want[40:64, 250:256] = True
    # A copy moves what was marked in its source onto its destination, which loses its
    # own marks; the rest of the source keeps them.
    pixels.move(Rect(0, 0, 24, 16), Rect(100, 20, 124, 36))
    want[20:36, 100:124] = want[0:16, 0:24]
    pixels.move(Rect(240, 36, 256, 52), Rect(160, 0, 176, 16))
    want[0:16, 160:176] = want[36:52, 240:256]
    assert pixels
    got = np.zeros((64, 256), bool)
    for rect in pixels.take():  # these marks are far apart: covered exactly
        assert not got[rect.top : rect.bottom, rect.left : rect.right].any()
        got[rect.top : rect.bottom, rect.left : rect.right] = True
    assert np.array_equal(got, want)
    assert not pixels and pixels.take() == []


def test_a_pixel_set_at_the_edges_of_its_surface() -> None:
    pixels = PixelSet(32, 32)
    # A copy from off the surface brings unknown pixels: they count as not exact.
    pixels.move(Rect(24, 0, 40, 8), Rect(0, 0, 16, 8))
    assert pixels.take() == [Rect(0, 0, 16, 8)]
    # A destination partly off the surface takes what lay under its visible part.
    pixels.add(Rect(8, 0, 12, 8))
    pixels.move(Rect(0, 0, 16, 8), Rect(-4, 16, 12, 24))
    assert pixels.take() == [Rect(8, 0, 12, 8), Rect(4, 16, 8, 24)]


def test_pixels_pack_to_24_bits_for_every_count_of_pixels() -> None:
    """Four pixels make three words, and a count that is not a multiple of four too."""
    rng = np.random.default_rng(2)
    for height, width in ((1, 1), (1, 2), (3, 3), (5, 7), (4, 4), (9, 13)):
        pixels = rng.integers(0, 1 << 32, (height, width), dtype=np.uint32)
        expected = pixels.view(np.uint8).reshape(height, width, 4)[:, :, :3].tobytes()
        assert packed_rgb(pixels).tobytes() == expected
        assert packed_rgb(pixels[:, ::-1]).tobytes() == packed_rgb(pixels[:, ::-1].copy()).tobytes()
