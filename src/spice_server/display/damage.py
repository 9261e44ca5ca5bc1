"""Finding what changed between two frames, cheaply, with numpy."""

from __future__ import annotations

import numpy as np

from ..protocol.rect import Rect

BAND_ROWS = 16


def changed_rects(old: np.ndarray, new: np.ndarray, x: int = 0, y: int = 0) -> list[Rect]:
    """Rectangles (offset by x, y) covering every pixel where ``new`` differs from ``old``.

    Both are (height, width) uint32 arrays. The frame is cut in bands of BAND_ROWS rows;
    each band that changed yields one rectangle spanning its changed rows and columns.
    """
    diff = old != new
    changed_rows = np.flatnonzero(diff.any(axis=1))
    if changed_rows.size == 0:
        return []
    rects: list[Rect] = []
    bands = np.unique(changed_rows // BAND_ROWS)
    for band in bands:
        top = int(band) * BAND_ROWS
        block = diff[top : top + BAND_ROWS]
        rows = np.flatnonzero(block.any(axis=1))
        cols = np.flatnonzero(block.any(axis=0))
        rect = Rect(
            x + int(cols[0]),
            y + top + int(rows[0]),
            x + int(cols[-1]) + 1,
            y + top + int(rows[-1]) + 1,
        )
        # Bands of one change (lines of a scrolled text area, ragged as they are) come out
        # as one rectangle: unchanged pixels inside it cost little once compressed.
        last = rects[-1] if rects else None
        if last is not None and last.bottom == rect.top and last.touches(rect):
            rects[-1] = last.union(rect)
            continue
        rects.append(rect)
    return rects


class TileMap:
    """Damage gathered as a grid of touched tiles: constant cost per report, however many.

    X reports damage as many small rectangles (every glyph, every scrolled line). Merging
    them one by one costs more than capturing; marking tiles costs one array write each,
    and turning the grid back into rectangles happens once per frame.
    """

    def __init__(self, width: int, height: int, tile: int = 16) -> None:
        self.tile = tile
        self.width, self.height = width, height
        self._mask = np.zeros(((height + tile - 1) // tile, (width + tile - 1) // tile), bool)

    def mark(self, x: int, y: int, width: int, height: int) -> None:
        t = self.tile
        self._mask[
            max(0, y) // t : (y + height + t - 1) // t, max(0, x) // t : (x + width + t - 1) // t
        ] = True

    def __bool__(self) -> bool:
        return bool(self._mask.any())

    def take(self) -> list[Rect]:
        """The marked area as the bounding boxes of its connected parts; then clear.

        Ragged text lines make ragged tile runs; one box per connected part keeps the
        rectangle count (and the Python work per frame) small, and the pixel comparison
        downstream trims what did not really change.
        """
        mask, t = self._mask, self.tile
        done: list[list[int]] = []
        growing: list[list[int]] = []  # [left, top, right, bottom] in tiles
        for row in map(int, np.flatnonzero(mask.any(axis=1))):
            edges = np.flatnonzero(np.diff(np.concatenate(([0], mask[row].view(np.int8), [0]))))
            still: list[list[int]] = []
            for box in growing:
                if box[3] == row:
                    still.append(box)
                else:
                    done.append(box)
            for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
                box = [a, row, b, row + 1]
                for other in [o for o in still if o[0] < b and a < o[2]]:
                    still.remove(other)
                    box = [
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        row + 1,
                    ]
                still.append(box)
            for box in still:
                box[3] = row + 1
            growing = still
        done.extend(growing)
        mask[...] = False
        bounds = Rect(0, 0, self.width, self.height)
        return [Rect(b[0] * t, b[1] * t, b[2] * t, b[3] * t).intersect(bounds) for b in done]
