"""Choosing how one still image travels: a pure function of its pixels, the client and settings.

Solid areas go as fills (41 bytes whatever their size); photographic pixels as JPEG where
lossy images are allowed for this client, else losslessly as QUIC (every client decodes
it; on camera grain it needs about 60 % of LZ4's bytes); everything else losslessly, as
LZ4 where the client decodes it and as plain bitmaps otherwise. The display channel asks,
then encodes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..protocol.constants import ImageCompression
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


class ImageKind(enum.Enum):
    FILL = "fill"
    JPEG = "jpeg"
    LZ4 = "lz4"
    QUIC = "quic"
    BITMAP = "bitmap"


@dataclass(frozen=True)
class ImagePolicy:
    """What one client may get: compression at all, LZ4, lossy JPEG (from what size), and
    QUIC for photographic areas that go losslessly."""

    compress: bool
    lz4: bool
    lossy: bool
    min_lossy_pixels: int = MIN_JPEG_PIXELS
    quic: bool = False

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
    the client decodes it, else as QUIC where the setting allows, else as raw pixels.
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
    if policy.lz4:
        return ImageKind.LZ4
    # Without LZ4 (spice-html5), QUIC's run coding still takes text to a quarter of its
    # size and flat UI to a few hundred bytes, where raw pixels are 4 bytes each.
    return ImageKind.QUIC if policy.quic else ImageKind.BITMAP
