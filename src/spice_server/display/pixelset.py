"""A set of pixels of a surface, kept exactly: where a client's screen is not exact yet.

A display client remembers the areas it sent lossy (JPEG), to send them again losslessly
once the screen is still. Kept as a short list of rectangles (``Region``), that memory
only grew: every merge added pixels that were exact, and copies moved the merged boxes
along. A window dragged for a few seconds at 5 Mbit/s, its new edges sent as JPEG, left
a box over its whole path, and the refinement sent 600 kB of a screen that was exact
already: a second of that link. A byte per pixel (a megabyte at 1024x768, in pages the
system hands out as they are touched) keeps the set exact under moves too.
"""

from __future__ import annotations

import numpy as np

from ..protocol.rect import Rect
from .damage import marked_rects


class PixelSet:
    """Marked pixels of a (width, height) surface: a bool per pixel and a box around them."""

    def __init__(self, width: int, height: int) -> None:
        self._mask = np.zeros((height, width), bool)
        self._box: Rect | None = None  # every marked pixel lies in it (it may be loose)

    def __bool__(self) -> bool:
        box = self._box
        return box is not None and bool(self._area(box).any())

    def resize(self, width: int, height: int) -> None:
        """An empty set on a surface of this size."""
        self._mask = np.zeros((height, width), bool)
        self._box = None

    def clear(self) -> None:
        if self._box is not None:
            self._area(self._box)[...] = False
        self._box = None

    def add(self, rect: Rect) -> None:
        rect = rect.intersect(self._bounds)
        if rect.is_empty():
            return
        self._area(rect)[...] = True
        self._box = rect if self._box is None else self._box.union(rect)

    def remove(self, rect: Rect) -> None:
        box = self._box
        if box is not None and not (hole := rect.intersect(box)).is_empty():
            self._area(hole)[...] = False

    def move(self, src: Rect, dest: Rect) -> None:
        """The pixels of ``src`` were copied onto ``dest`` (same size): ``dest`` is now
        marked where ``src`` was; the rest of ``src`` keeps its marks."""
        dx, dy = dest.left - src.left, dest.top - src.top
        dest = dest.intersect(self._bounds)
        if dest.is_empty():
            return
        moved = dest.translated(-dx, -dy)
        if moved.intersect(self._bounds) != moved:  # from off the surface: unknown pixels
            self.add(dest)
            return
        marks = self._area(moved).copy()
        self._area(dest)[...] = marks
        if marks.any():
            self._box = dest if self._box is None else self._box.union(dest)

    def take(self) -> list[Rect]:
        """The set as rectangles (in bands, as ``changed_rects`` cuts them, one continuing
        another only where that covers no pixel more: a path of pieces across the screen
        is not one box over it); then empty."""
        box = self._box
        if box is None:
            return []
        rects = marked_rects(self._area(box), box.left, box.top, slack=1.0)
        self.clear()
        return rects

    @property
    def _bounds(self) -> Rect:
        height, width = self._mask.shape
        return Rect(0, 0, width, height)

    def _area(self, rect: Rect) -> np.ndarray:
        return self._mask[rect.top : rect.bottom, rect.left : rect.right]
