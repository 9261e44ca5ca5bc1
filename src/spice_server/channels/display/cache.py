"""One client's cached screen: the first whole screen, kept in its image cache.

The first screen goes to the client with CACHE_ME when its cache has room (its
DISPLAY_INIT says how much); later, parts of the screen that show what they showed then
are drawn from that copy with a few dozen bytes (see ``display.reference``). Only
spice-gtk gets it (LZ4 clients): its cached draws are tested, spice-html5's are not.
"""

from __future__ import annotations

import numpy as np

from ...display.encoding import new_image_id
from ...display.reference import ReferenceImage
from ...protocol.messages.display import MsgDisplayDrawCopy
from ...protocol.messages.images import pack_cached_image
from ...protocol.rect import Rect
from .stream import PRIMARY_SURFACE


class CachedScreen:
    def __init__(self, lz4_client: bool) -> None:
        self.room = 0  # pixels the client's image cache holds
        self._lz4_client = lz4_client
        self._reference: ReferenceImage | None = None

    def may_keep(self, pixels: np.ndarray) -> bool:
        return self._lz4_client and pixels.size <= self.room

    def keep(self, generation: int, pixels: np.ndarray) -> int:
        """Keep ``pixels``, the whole screen about to be sent; returns its cache id."""
        image_id = new_image_id()
        self._reference = ReferenceImage(image_id, generation, pixels)
        return image_id

    def forget(self) -> bool:
        """Drop the kept screen (a new surface); True if there was one to drop."""
        had, self._reference = self._reference is not None, None
        return had

    def draws(
        self, generation: int | None, rect: Rect, pixels: np.ndarray
    ) -> tuple[list[MsgDisplayDrawCopy], list[Rect]]:
        """Draws of the parts of ``rect`` (showing ``pixels``) that show the kept screen,
        and the bands between them, to be sent as images; nothing if no part does."""
        reference = self._reference
        if reference is None or reference.generation != generation:
            return [], []
        same, other = reference.split(rect, pixels)
        image = pack_cached_image(reference.image_id, reference.width, reference.height)
        return [MsgDisplayDrawCopy(PRIMARY_SURFACE, part, image, part) for part in same], other
