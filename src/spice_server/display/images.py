"""Choosing how one still image travels: a pure function of its pixels, the client and settings.

Solid areas go as fills (41 bytes whatever their size); photographic pixels as JPEG where
lossy images are allowed for this client, else losslessly as QUIC (every client decodes
it; on camera grain it needs about 60 % of LZ4's bytes); everything else losslessly: for
a client that decodes LZ4, as LZ of palette indices where 256 colours or fewer (_lz.c),
else as LZ4; for others as QUIC or plain bitmaps. The display channel asks, then encodes.

Why the palette: a terminal's page is two colours, 1 bit a pixel before any
compression. 40 pages of a flooding xterm (480x650) took 5.9 kB each as LZ of their
palette indices, 21.7 kB as LZ4 at its best level, 95 kB in its fast mode (which a page
this large gets), at about the same time (1.2 ms); a flat desktop (1024x768) 1.6 kB
against 13.3, anti-aliased text in one colour (800x600, 222 colours) 9.6 against 37.5.
spice-gtk decodes LZ palette images; spice-html5 does not (it decodes no LZ4 either).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..protocol.constants import ImageCompression
from . import _lz
from .content import is_photographic

MIN_JPEG_PIXELS = 64 * 64  # smaller images are not worth a lossy encoding...
MIN_CONGESTED_JPEG_PIXELS = 16 * 64  # ...unless the link is the bottleneck
# JPEG codes blocks of 16x16 pixels (colour at half resolution): on a strip thinner than
# that (the edge a pan or a drag uncovers) it spends a third of QUIC's bytes, not a tenth,
# and what goes lossy is sent again losslessly once the screen is still. Such strips go
# losslessly at once: at 5 Mbit/s a panned photograph then stays exact around the edges
# it gains, where before it was all JPEG after a few seconds and took 1.4 s to refine.
MIN_JPEG_SIDE = 16
LOSSLESS_COMPRESSIONS = frozenset(
    {
        ImageCompression.LZ4,
        ImageCompression.AUTO_LZ,
        ImageCompression.AUTO_GLZ,
        ImageCompression.LZ,
        ImageCompression.GLZ,
        ImageCompression.QUIC,
    }
)
# The settings under which photographic areas go as QUIC when they go losslessly (libspice's
# automatic modes also pick QUIC for photographs); LZ, GLZ and LZ4 mean no QUIC.
QUIC_COMPRESSIONS = frozenset(
    {ImageCompression.QUIC, ImageCompression.AUTO_LZ, ImageCompression.AUTO_GLZ}
)
GLZ_COMPRESSIONS = frozenset({ImageCompression.AUTO_GLZ, ImageCompression.GLZ})


class ImageKind(enum.Enum):
    FILL = "fill"
    JPEG = "jpeg"
    LZ4 = "lz4"
    LZ_PALETTE = "lz-palette"
    GLZ = "glz"  # what would go as LZ4, to a client with a GLZ window (not chosen here)
    QUIC = "quic"
    BITMAP = "bitmap"


@dataclass(frozen=True)
class ImagePolicy:
    """What one client may get: compression at all, LZ4, LZ palette images, lossy JPEG
    (from what size), QUIC for photographic areas that go losslessly, and GLZ instead of
    LZ4 (where the client keeps a GLZ window)."""

    compress: bool
    lz4: bool
    lossy: bool
    min_lossy_pixels: int = MIN_JPEG_PIXELS
    quic: bool = False
    palette: bool = False
    glz: bool = False

    def allows_jpeg(self, width: int, height: int) -> bool:
        """Whether an area this size may go as JPEG, if photographic."""
        return (
            self.lossy and width * height >= self.min_lossy_pixels and may_go_lossy(width, height)
        )


def image_policy(
    setting: ImageCompression,
    preferred: int | None,
    jpeg: str,
    client_lz4: bool,
    *,
    congested: bool = False,
    lossless: bool = False,
) -> ImagePolicy:
    """The policy for a client from the server's settings and what the client said.

    The client's preferred compression wins when it is one it may choose (off, or a
    lossless one). JPEG is ``always``, ``never``, or ``auto``: for clients that decode no
    LZ4 (spice-html5: a photograph as QUIC costs ten times its JPEG; its text and UI go
    as QUIC), and for any client while its link is ``congested``:
    a photograph then costs a tenth of its bytes, and the areas sent so are refined
    losslessly once the screen is still (``lossless`` asks for that refinement).
    Photographs that go losslessly go as QUIC under the automatic settings and QUIC;
    the LZ4, LZ and GLZ settings mean LZ4 (or bitmaps). Other content goes as LZ4 where
    the client decodes it (as LZ palette images where they fit, unless the setting is
    LZ4), else as QUIC where the setting allows, else as raw pixels. Under the GLZ
    settings (auto_glz, glz) what would go as LZ4 may go as GLZ (``glz``: to a client
    that keeps a GLZ window, spice-gtk; channels/display/glz.py).
    """
    compression = setting
    if preferred == ImageCompression.OFF or preferred in LOSSLESS_COMPRESSIONS:
        compression = ImageCompression(preferred)
    compress = compression != ImageCompression.OFF
    lossy = (not client_lz4 or congested) if jpeg == "auto" else jpeg == "always"
    return ImagePolicy(
        compress=compress,
        lz4=compress and client_lz4,
        lossy=compress and lossy and not lossless,
        min_lossy_pixels=MIN_CONGESTED_JPEG_PIXELS if congested else MIN_JPEG_PIXELS,
        quic=compress and compression in QUIC_COMPRESSIONS,
        palette=compress and client_lz4 and compression != ImageCompression.LZ4,
        glz=compress and client_lz4 and compression in GLZ_COMPRESSIONS,
    )


def may_go_lossy(width: int, height: int) -> bool:
    """Whether an area this size is ever sent as JPEG (under the most lenient policy): a
    change too small or too thin never makes the screen lossy."""
    return width * height >= MIN_CONGESTED_JPEG_PIXELS and min(width, height) >= MIN_JPEG_SIDE


def choose_image(pixels: np.ndarray, policy: ImagePolicy) -> ImageKind:
    """How to send these (h, w) uint32 pixels to a client with this policy."""
    first = pixels.flat[0]
    if (pixels == first).all():
        return ImageKind.FILL
    height, width = pixels.shape
    lossy = policy.allows_jpeg(width, height)
    if (lossy or policy.quic) and is_photographic(pixels):
        return ImageKind.JPEG if lossy else ImageKind.QUIC
    if policy.palette and _lz.fits_palette(np.ascontiguousarray(pixels, dtype=np.uint32)):
        return ImageKind.LZ_PALETTE
    if policy.lz4:
        return ImageKind.LZ4
    # Without LZ4 (spice-html5), QUIC's run coding still takes text to a quarter of its
    # size and flat UI to a few hundred bytes, where raw pixels are 4 bytes each.
    return ImageKind.QUIC if policy.quic else ImageKind.BITMAP
