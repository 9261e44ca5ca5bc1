"""Image encoders: turn a rectangle of pixels into a SpiceImage.

Lossless: uncompressed BITMAP (every client decodes it), LZ4 (spice-gtk, when it
advertised DISPLAY_CAP_LZ4_COMPRESSION), LZ of palette indices (spice-gtk; for 256
colours or fewer, from the C extension ``_lz``), GLZ (spice-gtk: LZ against the images
the client keeps, from ``_glz``; see channels/display/glz.py) and QUIC (every client;
for photographic pixels, which LZ4 barely shrinks). LZ4 goes as one independent block
of 24-bit rows per image, which the client's streaming decoder accepts; QUIC comes from
the C extension ``_quic``.
Every image is drawn by a DRAW_COPY, where it starts at a fixed offset: an LZ palette
image points to its palette by the offset in the message.
Lossy: JPEG (libjpeg-turbo through simplejpeg), for photographic images and MJPEG stream
frames; every client decodes it.
"""

from __future__ import annotations

import itertools
from typing import Protocol

import lz4.block
import numpy as np
import simplejpeg

from ..protocol.messages.display import MsgDisplayDrawCopy
from ..protocol.messages.images import (
    IMAGE_CACHE_ME,
    pack_bitmap_image,
    pack_glz_image,
    pack_jpeg_image,
    pack_lz4_image,
    pack_lz_plt_image,
    pack_quic_image,
)
from . import _glz, _lz, _quic
from .images import ImageKind

_image_ids = itertools.count(1)


def new_image_id() -> int:
    return next(_image_ids)


def encode_bitmap(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """Raw pixels; with ``cache_id`` the client keeps the image under that id."""
    height, width = pixels.shape
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_bitmap_image(image_id, width, height, np.ascontiguousarray(pixels).tobytes(), flags)


# LZ4's high-compression modes make text and UI two to three times smaller than its fast
# mode, at 10 to 500 times the CPU (lines of text, 21 kB of pixels: 0.01 ms fast, 0.07 ms
# at level 3, 1.2 ms at level 9; 63 kB: 0.02, 0.27 and 6 ms). The level is chosen by size
# (small images, a line of text or an echoed key, get the best), capped by the caller
# (``lz4_max_level``). The client decodes every level alike.
HC_MAX_BYTES = 96 * 1024  # up to this many bytes of pixels: level 9
HC_FAST_MAX_BYTES = 768 * 1024  # up to this many: level 3; above it the fast mode
BEST, NEAR, FAST = 9, 3, 0  # the highest level allowed: any; on a fast link; none


def lz4_options(nbytes: int, max_level: int = BEST) -> dict[str, str | int]:
    """The ``lz4.block.compress`` options for an image of ``nbytes`` bytes of pixels, at
    most ``max_level`` (FAST: LZ4's fast mode)."""
    level = 9 if nbytes <= HC_MAX_BYTES else 3 if nbytes <= HC_FAST_MAX_BYTES else FAST
    level = min(level, max_level)
    if level == FAST:
        return {"mode": "default"}
    return {"mode": "high_compression", "compression": level}


HC_SPENT_S = 0.004  # LZ4's slower, smaller levels while one pump has spent less than this
# Level 9 saves a third of level 3's bytes at 10 to 20 times its time: worth it only on
# a link slower than about 8 Mbit/s. While the rate is unknown (the link never was the
# bottleneck), a short round trip says the link is near, and likely fast.
SLOW_RATE = 1_000_000  # bytes/s
NEAR_RTT_S = 0.010
PACK_RATE = 6_000_000  # bytes/s: on a slower link, LZ4 goes as 24-bit rows


def _slower_than(limit: float, rtt: float, rate: float | None) -> bool:
    """Whether a link of that round trip and rate (None: not measured) carries less than
    ``limit`` bytes a second; unmeasured, a far one is taken for slow, a near one not."""
    if rate is not None:
        return rate < limit
    return rtt >= NEAR_RTT_S


def lz4_packs_rows(rtt: float, rate: float | None) -> bool:
    """Whether LZ4 goes as 24-bit rows on a link of that round trip and rate (None: not
    measured). Without the x byte a quarter of what LZ4 cannot match is saved (text
    -12 %, UI -22 %), but spice-gtk turns 24-bit images back into 32-bit ones (pixman:
    0.27 ms for a 480x650 draw, against 0.07 for drawing it), on a client a flooding
    terminal keeps busy: there a key's echo came later (p50, later in 11 of 14 pairs of
    runs, by 4 ms at the median). So only where bytes cost: a link slower than
    PACK_RATE, or far, its rate unknown."""
    return _slower_than(PACK_RATE, rtt, rate)


def lz4_max_level(spent: float, rtt: float, rate: float | None) -> int:
    """The highest LZ4 level worth its time, ``spent`` seconds into a pump, on a link of
    that round trip and rate (None: not measured): FAST once the pump has spent
    HC_SPENT_S (a flood costs no long wakeup); BEST on a slow or far link; else NEAR."""
    if spent >= HC_SPENT_S:
        return FAST
    return BEST if _slower_than(SLOW_RATE, rtt, rate) else NEAR


def encode_lz4(
    pixels: np.ndarray, cache_id: int | None = None, max_level: int = BEST, packed: bool = True
) -> bytes:
    """LZ4 of the pixels' rows, 24-bit (``packed``, see ``lz4_packs_rows``) or 32-bit;
    with ``cache_id`` the client keeps the image under that id; ``max_level`` caps the
    level chosen by size (the caller's time is spent, or bytes are cheap)."""
    height, width = pixels.shape
    options = lz4_options(pixels.size * 4, max_level)
    rows = packed_rgb(pixels) if packed else np.ascontiguousarray(pixels, dtype=np.uint32)
    block = lz4.block.compress(rows, store_size=False, **options)
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_lz4_image(image_id, width, height, [block], flags, packed)


def encode_lz_palette(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """LZ of the pixels' palette indices (256 colours at most: ``_lz.fits_palette``), for
    a DRAW_COPY; with ``cache_id`` the client keeps the image under that id. The encoder
    lets other threads run while it works."""
    height, width = pixels.shape
    coded = _lz.encode_palette(np.ascontiguousarray(pixels, dtype=np.uint32))
    if coded is None:
        raise ValueError("an LZ palette image of more than 256 colours")
    lz_data, palette = coded
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    at = MsgDisplayDrawCopy.IMAGE_OFFSET
    return pack_lz_plt_image(image_id, width, height, lz_data, palette, at, flags)


def encode_glz(dictionary: _glz.Dictionary, pixels: np.ndarray) -> bytes:
    """GLZ against the images ``dictionary`` keeps for one client (lossless); the client
    must get it, and every GLZ image before it, in order. The encoder lets other threads
    run while it works."""
    height, width = pixels.shape
    stream = dictionary.encode(np.ascontiguousarray(pixels, dtype=np.uint32))
    return pack_glz_image(next(_image_ids), width, height, stream)


def encode_quic(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """QUIC (lossless, for photographic pixels); with ``cache_id`` the client keeps the
    image under that id. The encoder lets other threads run while it works."""
    height, width = pixels.shape
    stream = _quic.encode(np.ascontiguousarray(pixels, dtype=np.uint32))
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_quic_image(image_id, width, height, stream, flags)


def encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    """A baseline JPEG file of the pixels (lossy), straight from B, G, R, X memory."""
    height, width = pixels.shape
    bgrx = np.ascontiguousarray(pixels).view(np.uint8).reshape(height, width, 4)
    return bytes(
        simplejpeg.encode_jpeg(
            bgrx, quality=quality, colorspace="BGRX", colorsubsampling="420", fastdct=True
        )
    )


def encode_jpeg_image(pixels: np.ndarray, quality: int) -> bytes:
    height, width = pixels.shape
    return pack_jpeg_image(next(_image_ids), width, height, encode_jpeg(pixels, quality))


def packed_rgb(pixels: np.ndarray) -> np.ndarray:
    """The (h, w) xRGB pixels as B, G, R bytes, packed: what LZ4 compresses. Without the
    x byte, that the client ignores, the bytes LZ4 cannot match (anti-aliased text,
    gradients) cost a quarter less: 5-23 % fewer bytes on a photograph, text, UI, a
    browser's gradient. A byte at a time: numpy copies one byte of every four quicker than three."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    channels = pixels.view(np.uint8).reshape(-1, 4)
    packed = np.empty((pixels.size, 3), dtype=np.uint8)
    for channel in range(3):
        packed[:, channel] = channels[:, channel]
    return packed.reshape(-1)


class LosslessEncoder(Protocol):
    """What every lossless encoder takes: the pixels, and the id under which the client
    keeps the image (a kept screen), if it does."""

    def __call__(self, pixels: np.ndarray, cache_id: int | None = None) -> bytes: ...


LOSSLESS_ENCODERS: dict[ImageKind, LosslessEncoder] = {
    ImageKind.LZ4: encode_lz4,
    ImageKind.LZ_PALETTE: encode_lz_palette,
    ImageKind.QUIC: encode_quic,
}
"""The lossless encoders by kind; each takes the pixels and, optionally, a ``cache_id``."""
