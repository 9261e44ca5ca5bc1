"""A picture of the screen that the client keeps too, to draw from again.

The client keeps the first whole screen it gets in its image cache (sent with CACHE_ME),
and later snapshots of the screen on off-screen surfaces (see
``channels.display.cache``); the server keeps the same pixels. When part of the screen
shows again what such a picture shows (the wallpaper a dragged window uncovers, a dialog
closed, a window raised again, a page scrolled back), that part is drawn from the
client's copy: a draw of a few dozen bytes instead of an image.

The part may show the kept pixels where they were, or moved: a map panned back over
country seen before, a page scrolled back, a window dragged. A draw may take any part of
the picture, so moved content is found too: at the offset the screen's copies add up to
since it was kept, or, where the copies missed a step, by looking for a short segment of
the part in the picture near there (see ``motion``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..protocol.rect import Rect
from .motion import PROBE, STILL, Motion, segment_matches
from .region import difference

MIN_RUN_ROWS = 4  # fewer matching rows in a row are not worth a draw of their own
# More runs than this in one rectangle: the blank rows between lines of text, which match
# any earlier text screen; drawing them apart would cut a busy terminal into bands.
MAX_RUNS = 4
MAX_PLACES = 4  # places found for a segment that are tried: more say it is uninformative
PROBE_ROWS = (0.5, 0.25, 0.75)  # where in a part its segments are taken, from its top


@dataclass(frozen=True)
class ReferenceImage:
    """The whole surface of ``generation`` as the client showed it when it kept it."""

    generation: int
    pixels: np.ndarray  # (height, width) uint32, never written

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def bounds(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    def matching_rows(
        self, rect: Rect, pixels: np.ndarray, motion: Motion = STILL
    ) -> list[tuple[int, int]]:
        """Runs (first, end) of rows of ``rect`` (relative to its top) whose ``pixels`` are
        exactly the reference's moved by ``motion``; runs shorter than MIN_RUN_ROWS left
        out, and those whose sampled rows (every MIN_RUN_ROWS-th of ``rect``) are each of
        one colour: a fill draws such a band in a few bytes, and it matches any earlier
        screen with a band there (under a flooding terminal, the blank rows between its
        lines, which would cut it into more images). None at all when more than MAX_RUNS
        are left."""
        source = rect.translated(-motion.dx, -motion.dy)
        if source.intersect(self.bounds) != source:
            return []
        cached = self.pixels[source.top : source.bottom, source.left : source.right]
        if cached.shape != pixels.shape:
            return []
        # Every run of MIN_RUN_ROWS rows holds one of every MIN_RUN_ROWS-th row: when none
        # of those matches with more than one colour, no row is worth comparing (most
        # parts, against most pictures; a terminal's blank rows against any text screen).
        sampled = pixels[::MIN_RUN_ROWS]
        telling = (cached[::MIN_RUN_ROWS] == sampled).all(axis=1)
        telling &= (sampled != sampled[:, :1]).any(axis=1)
        if not telling.any():
            return []
        same = (cached == pixels).all(axis=1)
        edges = np.diff(np.concatenate(([0], same.view(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs = [  # a run's sampled rows: from the first at or below its top (ceilings)
            (int(a), int(b))
            for a, b in zip(starts, ends, strict=True)
            if b - a >= MIN_RUN_ROWS
            and telling[-(-a // MIN_RUN_ROWS) : -(-b // MIN_RUN_ROWS)].any()
        ]
        return runs if len(runs) <= MAX_RUNS else []

    def split(
        self, rect: Rect, pixels: np.ndarray, motion: Motion = STILL
    ) -> tuple[list[Rect], list[Rect]]:
        """``rect`` (showing ``pixels``) as the parts that show the reference moved by
        ``motion``, to be drawn from it, and the parts around them, to be sent as images;
        nothing at all when no part does."""
        inside = rect.intersect(self.bounds.translated(motion.dx, motion.dy))
        if inside.is_empty():
            return [], []
        rows = slice(inside.top - rect.top, inside.bottom - rect.top)
        columns = slice(inside.left - rect.left, inside.right - rect.left)
        runs = self.matching_rows(inside, pixels[rows, columns], motion)
        same = [Rect(inside.left, inside.top + a, inside.right, inside.top + b) for a, b in runs]
        # At most MAX_RUNS bands, each with a column on either side: the rest fits.
        other = difference(rect, same, 4 * MAX_RUNS + 1) if same else None
        return (same, other) if other is not None else ([], [])

    def places(self, rect: Rect, pixels: np.ndarray, near: Iterable[Motion]) -> list[Motion]:
        """Motions near those of ``near`` by which a segment of ``rect`` (showing
        ``pixels``) shows the reference: the places to try it at when the content moved in
        steps that were not followed. Empty when the segments are flat or match too often."""
        if rect.width < PROBE or rect.height < MIN_RUN_ROWS:
            return []
        x = rect.left + (rect.width - PROBE) // 2
        for share in PROBE_ROWS:
            y = rect.top + int(rect.height * share)
            segment = pixels[y - rect.top, x - rect.left : x - rect.left + PROBE]
            if (segment == segment[0]).all():
                continue  # a flat segment is found everywhere: it says nothing
            found = {
                Motion(dx, dy)
                for hint in near
                for dx, dy in segment_matches(self.pixels, segment, x, y, hint)
            }
            if 0 < len(found) <= MAX_PLACES:
                return sorted(found, key=lambda m: (m.dy, m.dx))
        return []
