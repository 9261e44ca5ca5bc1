"""How one client's still images travel over its link: which encoding, at what effort,
in draws of what size.

The pure choice per image is ``display.images``; this adds what depends on the client's
link at the moment: JPEG for photographic areas while the link is slow or was full
(refined losslessly once the screen is still), LZ4's level by the link and the time the
pump has spent, and draws no larger than the link's budget where they go losslessly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from ...config import ServerConfig
from ...core.clock import Clock
from ...display.encoding import (
    LOSSLESS_ENCODERS,
    encode_bitmap,
    encode_lz4,
    lz4_max_level,
    lz4_packs_rows,
)
from ...display.images import ImageKind, ImagePolicy, image_policy
from ...display.region import Region
from ...net.link import LinkEstimate
from ...protocol.rect import Rect
from .stream import Encode

JPEG_QUALITY = 85  # for photographic still images
MAX_DRAW_BYTES = 256 * 1024  # raw pixels per DRAW_COPY; larger areas go in bands
CONGESTED_S = 1.0  # a link that was full this recently gets JPEG for photographic areas
SLOW_LINK_RATE = 1_250_000  # bytes/s (10 Mbit/s): slower, always; libspice's "low bandwidth"
REFINE_RECTS = 256  # a lossless repaint's rectangles, not merged over exact pixels


class StillImages:
    """The still-image choices for one client; ``preferred`` is its PREFERRED_COMPRESSION."""

    def __init__(
        self, config: ServerConfig, client_lz4: bool, link: LinkEstimate, clock: Clock
    ) -> None:
        self.config = config
        self.client_lz4 = client_lz4
        self.link = link
        self.clock = clock
        self.preferred: int | None = None

    def policy(self, full_at: float | None, lossless: bool = False) -> ImagePolicy:
        """What the client may get now, its link last full at ``full_at``: JPEG for
        photographic areas where the settings allow it, and (``auto``) while its link is
        measured as the bottleneck (not a burst on a fast link) or slower than
        SLOW_LINK_RATE; ``lossless`` for the refinement once the screen is still."""
        rate, now = self.link.rate, self.clock.now()
        congested = rate is not None and (
            rate < SLOW_LINK_RATE or (full_at is not None and now - full_at < CONGESTED_S)
        )
        return image_policy(
            self.config.image_compression,
            self.preferred,
            self.config.jpeg_compression,
            self.client_lz4,
            congested=congested,
            lossless=lossless,
        )

    def encoder(self, kind: ImageKind, pump_began: float) -> Encode:
        """The encoder of a lossless ``kind`` (LZ4's, see ``lz4``), or of plain bitmaps."""
        if kind is ImageKind.LZ4:
            return self.lz4(pump_began)
        return LOSSLESS_ENCODERS.get(kind, encode_bitmap)

    def lz4(self, pump_began: float) -> Encode:
        """The LZ4 encoder at the level worth its time in a burst begun at ``pump_began``,
        in the rows the link is worth (``lz4_packs_rows``)."""
        spent, link = self.clock.now() - pump_began, self.link
        level = lz4_max_level(spent, link.rtt, link.rate)
        return functools.partial(
            encode_lz4, max_level=level, packed=lz4_packs_rows(link.rtt, link.rate)
        )

    def cut(self, policy: ImagePolicy, rect: Rect) -> tuple[Rect, Rect | None]:
        """``rect`` as the band to draw now and the rest (None if it fits in one draw),
        which a later pass reads: newer pixels by then. Bands of equal height: a sliver
        left at the bottom (a flat bar's rows) would be judged alone, as not
        photographic, and go as something else."""
        rows = max(1, self._draw_bytes(policy) // (rect.width * 4))
        if rect.height <= rows:
            return rect, None
        split = rect.top + -(-rect.height // -(-rect.height // rows))  # equal bands' rows
        now = Rect(rect.left, rect.top, rect.right, split)
        return now, Rect(rect.left, split, rect.right, rect.bottom)

    def _draw_bytes(self, policy: ImagePolicy) -> int:
        """Raw pixel bytes per draw: MAX_DRAW_BYTES, and where images go losslessly (ten
        times JPEG's size or more) no more than the link's budget, so that several are on
        their way at once: a draw larger than the budget goes alone, and the link idled a
        round trip after each (a refinement at 5 Mbit/s took twice its bytes' time)."""
        if policy.lossy:
            return MAX_DRAW_BYTES
        return min(MAX_DRAW_BYTES, self.link.budget())


def repaint_region(rects: Iterable[Rect] = ()) -> Region:
    """To repaint losslessly: what went lossy, merged only where that adds no pixel."""
    return Region(rects, max_rects=REFINE_RECTS, slack=1.0)
