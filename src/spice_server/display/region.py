"""A damage region: a short list of rectangles that still need to be sent.

It stays short on purpose: a new rectangle merges with one it touches when that wastes
little area, and when there are too many the pair whose union wastes least is merged.
Sending a few slightly larger rectangles beats sending hundreds of tiny ones.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator

import numpy as np

from ..protocol.rect import Rect

MAX_RECTS = 16
MERGE_SLACK = 1.25  # merge when the union is at most this much larger than the parts


class Region:
    def __init__(
        self, rects: Iterable[Rect] = (), max_rects: int = MAX_RECTS, slack: float = MERGE_SLACK
    ) -> None:
        """``slack``: how much larger than two touching rectangles their union may be for
        them to merge (1: only when it covers nothing more)."""
        self._rects: list[Rect] = []
        self.max_rects = max_rects
        self.slack = slack
        for rect in rects:
            self.add(rect)

    def __bool__(self) -> bool:
        return bool(self._rects)

    def __iter__(self) -> Iterator[Rect]:
        return iter(list(self._rects))

    def __len__(self) -> int:
        return len(self._rects)

    @property
    def area(self) -> int:
        """Sum of the rectangles' areas (they may overlap slightly after merges)."""
        return sum(r.area for r in self._rects)

    def add(self, rect: Rect) -> None:
        if rect.is_empty():
            return
        merged = True
        while merged:
            merged = False
            for i, other in enumerate(self._rects):
                if not other.touches(rect):
                    continue
                union = rect.union(other)
                if union.area <= self.slack * (rect.area + other.area):
                    del self._rects[i]
                    rect = union
                    merged = True
                    break
        self._rects.append(rect)
        while len(self._rects) > self.max_rects:
            self._merge_cheapest_pair()

    def update(self, rects: Iterable[Rect]) -> None:
        for rect in rects:
            self.add(rect)

    def pop(self) -> Rect:
        """Take the smallest rectangle: small changes (an echoed key, a cursor blink) are
        what the user waits for, and they cost little to send before the large ones."""
        rects = self._rects
        index = min(range(len(rects)), key=lambda i: (rects[i].area, rects[i].top))
        return rects.pop(index)

    def clear(self) -> None:
        self._rects.clear()

    def remove(self, hole: Rect) -> None:
        """Take ``hole`` out of the region."""
        if any(not r.intersect(hole).is_empty() for r in self._rects):
            rects, self._rects = self._rects, []
            for rect in rects:
                for piece in subtract(rect, hole):
                    self.add(piece)

    def moved(self, src: Rect, dest: Rect) -> Region:
        """The region after the pixels of ``src`` were copied onto ``dest`` (same size):
        what lay in ``dest`` is overwritten, what lay in ``src`` comes along."""
        dx, dy = dest.left - src.left, dest.top - src.top
        moved = Region(max_rects=self.max_rects, slack=self.slack)
        for rect in self._rects:
            for piece in subtract(rect, dest):
                moved.add(piece)
            inside = rect.intersect(src)
            if not inside.is_empty():
                moved.add(inside.translated(dx, dy).intersect(dest))
        return moved

    def clip(self, bounds: Rect) -> None:
        clipped = [r.intersect(bounds) for r in self._rects]
        self._rects = [r for r in clipped if not r.is_empty()]

    def _merge_cheapest_pair(self) -> None:
        # Every pair at once in numpy: a busy screen calls this for every rectangle it adds
        # (a flooding terminal's lines, some 60 a capture), and the pairs one by one in
        # Python were a tenth of the loop's time under the flood. The first pair in
        # order of all that waste least, as the loop over pairs took.
        rects = self._rects
        n = len(rects)
        box = np.fromiter(itertools.chain.from_iterable(rects), np.int64, 4 * n).reshape(n, 4)
        left, top, right, bottom = box.T
        area = (right - left) * (bottom - top)
        width = np.maximum.outer(right, right) - np.minimum.outer(left, left)
        waste = width * (np.maximum.outer(bottom, bottom) - np.minimum.outer(top, top))
        waste -= area[:, None]
        waste -= area[None, :]
        waste[_lower_triangle(n)] = _NEVER
        i, j = divmod(int(waste.argmin()), n)
        union = rects[i].union(rects[j])
        del rects[j], rects[i]
        rects.append(union)


_NEVER = np.iinfo(np.int64).max


@functools.cache
def _lower_triangle(n: int) -> np.ndarray:
    """Where a pair is not one (j <= i) in an n x n matrix of pairs."""
    return np.tril(np.ones((n, n), dtype=bool))


def difference(rect: Rect, holes: Iterable[Rect], limit: int) -> list[Rect] | None:
    """The parts of ``rect`` outside every hole, exactly; None if that takes more than
    ``limit`` rectangles."""
    pieces = [rect]
    for hole in holes:
        pieces = [part for piece in pieces for part in subtract(piece, hole)]
        if len(pieces) > limit:
            return None
    return pieces


def subtract(rect: Rect, hole: Rect) -> list[Rect]:
    """The parts of ``rect`` outside ``hole``: up to four rectangles."""
    inner = rect.intersect(hole)
    if inner.is_empty():
        return [rect]
    pieces = [
        Rect(rect.left, rect.top, rect.right, inner.top),
        Rect(rect.left, inner.bottom, rect.right, rect.bottom),
        Rect(rect.left, inner.top, inner.left, inner.bottom),
        Rect(inner.right, inner.top, rect.right, inner.bottom),
    ]
    return [piece for piece in pieces if not piece.is_empty()]
