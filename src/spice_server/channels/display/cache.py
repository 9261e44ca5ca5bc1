"""What one client keeps of earlier screens, to draw from again: the first whole screen in
its image cache, and snapshots of later screens on off-screen surfaces.

The first screen goes to the client with CACHE_ME when its cache has room (its
DISPLAY_INIT says how much). Later, whenever the client has shown the screen exactly for
a moment and the screen differs enough from all it keeps, the server has the client copy
its screen to one of SNAPSHOT_SURFACES: a SURFACE_CREATE once, then a draw whose source
is the primary surface, some 60 bytes; the oldest snapshot makes room for the newest.
Parts of the screen that show what one of them shows (a window raised again, a dialog
closed, a page scrolled back, where they were or moved) are drawn from it with a few
dozen bytes (see ``display.reference``) instead of being sent again as images. This is
what libspice's GLZ dictionary does across images, with no dictionary to encode against.

The first screen is cached by spice-gtk only (LZ4 clients), whose cached draws are
tested; spice-html5's are not. Snapshots go to every client: both draw from their other
surfaces synchronously (spice-html5 a JPEG only once loaded, but a snapshot waits for
the lossless repaint of any JPEG), and both are tested. The cost is memory: each kept screen is the
screen's size here and on the client (3 MB at 1024x768), within KEPT_BYTES a client and
KEPT_BYTES_ALL for all the clients of a display.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...core.clock import Clock
from ...display.encoding import new_image_id
from ...display.motion import STILL, Motion
from ...display.reference import ReferenceImage
from ...protocol.constants import SurfaceFormat
from ...protocol.messages.codec import ServerMessage
from ...protocol.messages.display import (
    MsgDisplayDrawCopy,
    MsgDisplayInvalAllPixmaps,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from ...protocol.messages.images import pack_cached_image, pack_surface_image
from ...protocol.rect import Rect
from .stream import PRIMARY_SURFACE

# Parts smaller than this are tried only where the kept screens are and where the copies
# moved them: an echo is not worth a search.
SEARCH_PIXELS = 2048
# After a search found nothing, the next waits this long (s), but for a refinement: while
# content moves, each frame's new edges would be searched for, mostly in vain.
SEARCH_AGAIN_S = 0.1
SNAPSHOT_SURFACES = (1, 2)  # the client's off-screen surfaces that hold snapshots
# What the kept screens may hold per client, here (and on the client): two snapshots
# beside the first screen up to 1920x1080, one at 2560x1440, none at 3840x2160...
KEPT_BYTES = 40 * 1024 * 1024
# ...and those of all the clients of a display (64 clients may share a server).
KEPT_BYTES_ALL = 256 * 1024 * 1024
SNAPSHOT_EVERY_S = 0.5  # the screen is looked at for a snapshot at most this often...
SNAPSHOT_STILL_S = 0.3  # ...once it has not changed for this long: a settled screen
# A screen is kept when at least this share of it differs from every screen kept: a key's
# echo or a clock's tick is not worth a snapshot, a window raised or a page turned is.
NEW_SHARE = 0.05


@dataclass
class KeptBudget:
    """What the kept screens of all the clients of one display hold, in bytes, and their
    GLZ windows (glz.py): one client's screens are bounded by KEPT_BYTES, all together by
    ``limit``."""

    limit: int = KEPT_BYTES_ALL
    used: int = 0

    def take(self, nbytes: int) -> bool:
        """Count ``nbytes`` more if they fit; whether they did."""
        if self.used + nbytes > self.limit:
            return False
        self.used += nbytes
        return True


class Found(NamedTuple):
    """Draws of a part from a kept screen (``kind``: "cached" from the image cache,
    "kept" from a snapshot surface), and the parts around them, to send as images."""

    kind: str
    draws: list[MsgDisplayDrawCopy]
    other: list[Rect]


NOTHING = Found("", [], [])


@dataclass(eq=False)  # each is itself: its pixels do not compare
class _Kept:
    reference: ReferenceImage
    image: bytes  # the SpiceImage that draws from the client's copy
    surface_id: int | None = None  # a snapshot's surface; None: the cached first screen
    # Where its content was last found, or has moved to since by copies.
    motion: Motion = STILL
    search_after: float = 0.0  # (clock) no search before, but for a refinement

    @property
    def kind(self) -> str:
        """What draws from it count as (see Found)."""
        return "cached" if self.surface_id is None else "kept"


class KeptScreens:
    def __init__(self, lz4_client: bool, clock: Clock, budget: KeptBudget) -> None:
        self.room = 0  # pixels the client's image cache holds
        self._lz4_client = lz4_client
        self._clock = clock
        self._budget = budget
        self._kept: list[_Kept] = []  # the newest first
        self._surfaces: set[int] = set()  # the snapshot surfaces the client has
        self._looked_at = -SNAPSHOT_EVERY_S  # (clock) the last look for a snapshot

    def may_keep(self, pixels: np.ndarray) -> bool:
        """Whether ``pixels``, the whole screen about to be sent, may go to the client's
        image cache (it fits there, and the display's budget has room)."""
        if not self._lz4_client or pixels.size > self.room:
            return False
        held = self._first_screen_bytes()
        return self._budget.used - held + pixels.nbytes <= self._budget.limit

    def keep(self, generation: int, pixels: np.ndarray) -> int:
        """Keep ``pixels``, the whole screen about to be sent (``may_keep``); returns its
        cache id."""
        self._budget.used += pixels.nbytes - self._first_screen_bytes()
        image_id = new_image_id()
        height, width = pixels.shape
        image = pack_cached_image(image_id, width, height)
        self._kept = self._snapshots()
        self._kept.append(_Kept(ReferenceImage(generation, pixels), image))
        return image_id

    def forget(self) -> list[ServerMessage]:
        """Drop all that is kept (a new surface): the messages that drop the client's."""
        messages: list[ServerMessage] = []
        if any(k.surface_id is None for k in self._kept):
            messages.append(MsgDisplayInvalAllPixmaps())
        messages.extend(MsgDisplaySurfaceDestroy(s) for s in sorted(self._surfaces))
        self._budget.used -= sum(k.reference.pixels.nbytes for k in self._kept)
        self._kept.clear()
        self._surfaces.clear()
        self._looked_at = -SNAPSHOT_EVERY_S
        return messages

    def moved(self, dx: int, dy: int) -> None:
        """Content moved by (dx, dy) on the screen (a copy): where the kept screens'
        content is looked for next."""
        for kept in self._kept:
            kept.motion = Motion(kept.motion.dx + dx, kept.motion.dy + dy)

    def draws(
        self, generation: int | None, rect: Rect, pixels: np.ndarray, refining: bool = False
    ) -> Found:
        """Draws of the parts of ``rect`` (showing ``pixels``) that show a kept screen,
        where it was or moved, and the parts around them, to be sent as images; nothing if
        no part does. Where it was and where copies moved it are tried first; a search
        near those only for larger parts that neither explains, and (but ``refining``,
        once the screen is still) not again soon after one that found nothing. Of the
        kept screens, the one that draws the most of the part."""
        kept = [k for k in self._kept if k.reference.generation == generation]
        tries = [(k, list(dict.fromkeys((STILL, k.motion)))) for k in kept]
        best, same, other, motion = _best_split(tries, rect, pixels)
        now = self._clock.now()
        if not same and rect.area >= SEARCH_PIXELS:
            searched = [k for k in kept if refining or now >= k.search_after]
            places = [
                (k, [m for m in k.reference.places(rect, pixels, tried) if m not in tried])
                for k, tried in tries
                if k in searched
            ]
            best, same, other, motion = _best_split(places, rect, pixels)
            if not same:
                for k in searched:
                    k.search_after = now + SEARCH_AGAIN_S
        if best is None or not same:
            return NOTHING
        if not motion.is_still:
            best.motion = motion
        draws = [
            MsgDisplayDrawCopy(
                PRIMARY_SURFACE, part, best.image, part.translated(-motion.dx, -motion.dy)
            )
            for part in same
        ]
        return Found(best.kind, draws, other)

    def snapshot_in(self, changed_at: float) -> float:
        """Seconds until the screen, which the client shows exactly and which last changed
        at ``changed_at`` (clock), may be looked at for a snapshot. Still since the change,
        not since the client caught up: on a slow link the lossless repaint of a window
        raised twice a second lands just before the next raise, and was never kept."""
        due = max(changed_at + SNAPSHOT_STILL_S, self._looked_at + SNAPSHOT_EVERY_S)
        return max(0.0, due - self._clock.now())

    def snapshot(self, generation: int, pixels: np.ndarray) -> list[ServerMessage]:
        """The client shows ``pixels``, the whole screen, exactly: keep it on a snapshot
        surface if it differs enough from every kept screen; returns the messages that
        make the client keep it (none if not)."""
        self._looked_at = self._clock.now()
        room = min(
            len(SNAPSHOT_SURFACES), (KEPT_BYTES - self._first_screen_bytes()) // pixels.nbytes
        )
        if room <= 0:
            return []
        # Judged on every fourth pixel each way: a look costs the loop a 16th of comparing
        # whole screens (1-3 ms each at 1920x1080), and 5% needs no more precision.
        sample = pixels[::4, ::4]
        enough = NEW_SHARE * sample.size
        for kept in self._kept:
            seen = kept.reference
            if seen.generation != generation or seen.pixels.shape != pixels.shape:
                continue
            if np.count_nonzero(seen.pixels[::4, ::4] != sample) < enough:
                return []
        # The snapshots by their surfaces, the newest first: the last makes room.
        taken = {k.surface_id: k for k in self._kept if k.surface_id is not None}
        free = [s for s in SNAPSHOT_SURFACES[:room] if s not in taken]
        if free and self._budget.take(pixels.nbytes):
            surface_id = free[0]
        elif taken:
            surface_id = list(taken)[-1]
            self._kept.remove(taken[surface_id])
        else:
            return []  # the display's other clients hold all that may be kept
        height, width = pixels.shape
        messages: list[ServerMessage] = []
        if surface_id not in self._surfaces:
            self._surfaces.add(surface_id)
            messages.append(
                MsgDisplaySurfaceCreate(surface_id, width, height, SurfaceFormat.XRGB32, 0)
            )
        whole = Rect(0, 0, width, height)
        primary = pack_surface_image(PRIMARY_SURFACE, width, height)
        messages.append(MsgDisplayDrawCopy(surface_id, whole, primary))
        image = pack_surface_image(surface_id, width, height)
        reference = ReferenceImage(generation, pixels)
        self._kept.insert(0, _Kept(reference, image, surface_id))
        return messages

    def _first_screen_bytes(self) -> int:
        """What the cached first screen holds (0: none)."""
        return sum(k.reference.pixels.nbytes for k in self._kept if k.surface_id is None)

    def _snapshots(self) -> list[_Kept]:
        """The kept screens on snapshot surfaces, the newest first."""
        return [k for k in self._kept if k.surface_id is not None]


def _best_split(
    tries: Iterable[tuple[_Kept, list[Motion]]], rect: Rect, pixels: np.ndarray
) -> tuple[_Kept | None, list[Rect], list[Rect], Motion]:
    """Of the ways ``rect`` shows a kept screen moved by one of its motions, the one that
    draws the most of it from there (see ``ReferenceImage.split``)."""
    best: tuple[_Kept | None, list[Rect], list[Rect], Motion] = (None, [], [], STILL)
    drawn = 0
    for kept, motions in tries:
        for motion in motions:
            same, other = kept.reference.split(rect, pixels, motion)
            area = sum(part.area for part in same)
            if area > drawn:
                best, drawn = (kept, same, other, motion), area
    return best
