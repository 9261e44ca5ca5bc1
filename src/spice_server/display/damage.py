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
    rects = []
    bands = np.unique(changed_rows // BAND_ROWS)
    for band in bands:
        top = int(band) * BAND_ROWS
        block = diff[top : top + BAND_ROWS]
        rows = np.flatnonzero(block.any(axis=1))
        cols = np.flatnonzero(block.any(axis=0))
        rects.append(
            Rect(
                x + int(cols[0]),
                y + top + int(rows[0]),
                x + int(cols[-1]) + 1,
                y + top + int(rows[-1]) + 1,
            )
        )
    return rects
