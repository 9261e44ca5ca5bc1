"""A picture of the screen the client keeps in its image cache, to draw from again.

The first whole screen a client gets is sent with CACHE_ME, and the server keeps the same
pixels. Later, when part of the screen shows again what it showed then (the wallpaper a
dragged window uncovers, a dialog closed, a page scrolled back), that part is drawn from
the client's cached copy: a draw of a few dozen bytes instead of an image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..protocol.rect import Rect

MIN_RUN_ROWS = 4  # fewer matching rows in a row are not worth a draw of their own
# More runs than this in one rectangle: the blank rows between lines of text, which match
# any earlier text screen; drawing them apart would cut a busy terminal into bands.
MAX_RUNS = 4


@dataclass(frozen=True)
class ReferenceImage:
    """The cached image ``image_id``: the whole surface of ``generation`` as it was sent."""

    image_id: int
    generation: int
    pixels: np.ndarray  # (height, width) uint32, never written

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def matching_rows(self, rect: Rect, pixels: np.ndarray) -> list[tuple[int, int]]:
        """Runs (first, end) of rows of ``rect`` (relative to its top) whose ``pixels`` are
        exactly the reference's at the same place; runs shorter than MIN_RUN_ROWS left out,
        and none at all when there are more than MAX_RUNS."""
        cached = self.pixels[rect.top : rect.bottom, rect.left : rect.right]
        if cached.shape != pixels.shape:
            return []
        same = (cached == pixels).all(axis=1)
        if not same.any():
            return []
        edges = np.diff(np.concatenate(([0], same.view(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs = [
            (int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= MIN_RUN_ROWS
        ]
        return runs if len(runs) <= MAX_RUNS else []

    def split(self, rect: Rect, pixels: np.ndarray) -> tuple[list[Rect], list[Rect]]:
        """``rect`` (showing ``pixels``) as the bands that show the reference unchanged,
        to be drawn from it, and the bands between them, to be sent as images."""
        same: list[Rect] = []
        other: list[Rect] = []
        covered = rect.top
        for first, end in self.matching_rows(rect, pixels):
            if rect.top + first > covered:
                other.append(Rect(rect.left, covered, rect.right, rect.top + first))
            same.append(Rect(rect.left, rect.top + first, rect.right, rect.top + end))
            covered = rect.top + end
        if same and covered < rect.bottom:
            other.append(Rect(rect.left, covered, rect.right, rect.bottom))
        return same, other
