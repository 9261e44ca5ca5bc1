"""Image encoders: turn a rectangle of pixels into a SpiceImage.

Lossless: uncompressed BITMAP (every client decodes it), LZ4 (spice-gtk, when it
advertised DISPLAY_CAP_LZ4_COMPRESSION) and QUIC (every client; for photographic
pixels, which LZ4 barely shrinks). LZ4 goes as one independent block per image, which
the client's streaming decoder accepts; QUIC comes from the C extension ``_quic``.
Lossy: JPEG (libjpeg-turbo through simplejpeg), for photographic images and MJPEG stream
frames; every client decodes it.
"""

from __future__ import annotations

import itertools

import lz4.block
import numpy as np
import simplejpeg

from ..protocol.messages.display import (
    IMAGE_CACHE_ME,
    pack_bitmap_image,
    pack_jpeg_image,
    pack_lz4_image,
    pack_quic_image,
)
from . import _quic

_image_ids = itertools.count(1)


def new_image_id() -> int:
    return next(_image_ids)


def encode_bitmap(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """Raw pixels; with ``cache_id`` the client keeps the image under that id."""
    height, width = pixels.shape
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_bitmap_image(image_id, width, height, np.ascontiguousarray(pixels).tobytes(), flags)


# LZ4's high-compression modes make text and UI two to three times smaller than its fast
# mode, at 10 to 100 times the CPU (measured on a terminal screen: 64 kB of pixels in
# 0.02 ms fast, 0.3 ms at level 3, 2.2 ms at level 9). The level is chosen by size so
# that no image costs more than about 3 ms: small ones (a line of text, an echoed key)
# get the best, a whole screen the fast mode. The client decodes every level alike.
HC_MAX_BYTES = 96 * 1024  # up to this many bytes of pixels: level 9
HC_FAST_MAX_BYTES = 768 * 1024  # up to this many: level 3; above it the fast mode


def lz4_options(nbytes: int) -> dict[str, str | int]:
    """The ``lz4.block.compress`` options for an image of ``nbytes`` bytes of pixels."""
    if nbytes <= HC_MAX_BYTES:
        return {"mode": "high_compression", "compression": 9}
    if nbytes <= HC_FAST_MAX_BYTES:
        return {"mode": "high_compression", "compression": 3}
    return {"mode": "default"}


def encode_lz4(pixels: np.ndarray, cache_id: int | None = None, best: bool = True) -> bytes:
    """LZ4; with ``cache_id`` the client keeps the image under that id; ``best=False``
    takes the fast mode whatever the size (the caller's time is spent)."""
    height, width = pixels.shape
    data = np.ascontiguousarray(pixels)
    options = lz4_options(data.nbytes) if best else {"mode": "default"}
    block = lz4.block.compress(data, store_size=False, **options)
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_lz4_image(image_id, width, height, [block], flags)


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
