"""One client's cached screen: the first whole screen, kept in its image cache.

The first screen goes to the client with CACHE_ME when its cache has room (its
DISPLAY_INIT says how much); later, parts of the screen that show what they showed then
are drawn from that copy with a few dozen bytes (see ``display.reference``), where they
were or moved as the screen's copies moved them. Only spice-gtk gets it (LZ4 clients): its
cached draws are tested, spice-html5's are not.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...core.clock import Clock
from ...display.encoding import new_image_id
from ...display.motion import STILL, Motion
from ...display.reference import ReferenceImage
from ...protocol.messages.display import MsgDisplayDrawCopy
from ...protocol.messages.images import pack_cached_image
from ...protocol.rect import Rect
from .stream import PRIMARY_SURFACE

# Parts smaller than this are tried only where the kept screen is and where the copies
# moved it: an echo is not worth a search.
SEARCH_PIXELS = 2048
# After a search found nothing, the next waits this long (s), but for a refinement: while
# content moves, each frame's new edges would be searched for, mostly in vain.
SEARCH_AGAIN_S = 0.1


class CachedScreen:
    def __init__(self, lz4_client: bool, clock: Clock) -> None:
        self.room = 0  # pixels the client's image cache holds
        self._lz4_client = lz4_client
        self._clock = clock
        self._search_after = 0.0  # (clock) no search before, but for a refinement
        self._reference: ReferenceImage | None = None
        # Where the kept screen's content was last found, or has moved to since by copies.
        self._motion = STILL

    def may_keep(self, pixels: np.ndarray) -> bool:
        return self._lz4_client and pixels.size <= self.room

    def keep(self, generation: int, pixels: np.ndarray) -> int:
        """Keep ``pixels``, the whole screen about to be sent; returns its cache id."""
        image_id = new_image_id()
        self._reference = ReferenceImage(image_id, generation, pixels)
        self._motion = STILL
        return image_id

    def forget(self) -> bool:
        """Drop the kept screen (a new surface); True if there was one to drop."""
        had, self._reference = self._reference is not None, None
        self._motion = STILL
        return had

    def moved(self, dx: int, dy: int) -> None:
        """Content moved by (dx, dy) on the screen (a copy): where the kept screen's
        content is looked for next."""
        self._motion = Motion(self._motion.dx + dx, self._motion.dy + dy)

    def draws(
        self, generation: int | None, rect: Rect, pixels: np.ndarray, refining: bool = False
    ) -> tuple[list[MsgDisplayDrawCopy], list[Rect]]:
        """Draws of the parts of ``rect`` (showing ``pixels``) that show the kept screen,
        where it was or moved, and the parts around them, to be sent as images; nothing if
        no part does. Where it was and where copies moved it are tried first; a search
        near those only for larger parts that neither explains, and (but ``refining``,
        once the screen is still) not again soon after one that found nothing."""
        reference = self._reference
        if reference is None or reference.generation != generation:
            return [], []
        tried = list(dict.fromkeys((STILL, self._motion)))
        same, other, motion = _best_split(reference, rect, pixels, tried)
        now = self._clock.now()
        if not same and rect.area >= SEARCH_PIXELS and (refining or now >= self._search_after):
            places = [m for m in reference.places(rect, pixels, tried) if m not in tried]
            same, other, motion = _best_split(reference, rect, pixels, places)
            if not same:
                self._search_after = now + SEARCH_AGAIN_S
        if not motion.is_still:
            self._motion = motion
        image = pack_cached_image(reference.image_id, reference.width, reference.height)
        draws = [
            MsgDisplayDrawCopy(
                PRIMARY_SURFACE, part, image, part.translated(-motion.dx, -motion.dy)
            )
            for part in same
        ]
        return draws, other


def _best_split(
    reference: ReferenceImage, rect: Rect, pixels: np.ndarray, motions: Iterable[Motion]
) -> tuple[list[Rect], list[Rect], Motion]:
    """Of the ways ``rect`` shows the kept screen moved by one of ``motions``, the one
    that draws the most of it from there (see ``ReferenceImage.split``)."""
    best: tuple[list[Rect], list[Rect], Motion] = ([], [], STILL)
    drawn = 0
    for motion in motions:
        same, other = reference.split(rect, pixels, motion)
        area = sum(part.area for part in same)
        if area > drawn:
            best, drawn = (same, other, motion), area
    return best
