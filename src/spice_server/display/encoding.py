"""Image encoders: turn a rectangle of pixels into a SpiceImage.

Lossless: uncompressed BITMAP (every client decodes it) and LZ4 (spice-gtk, when it
advertised DISPLAY_CAP_LZ4_COMPRESSION). LZ4 goes as one independent block per image,
which the client's streaming decoder accepts. Lossy: JPEG (libjpeg-turbo through
simplejpeg), for photographic images and MJPEG stream frames; every client decodes it.
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
)

_image_ids = itertools.count(1)


def new_image_id() -> int:
    return next(_image_ids)


def encode_bitmap(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """Raw pixels; with ``cache_id`` the client keeps the image under that id."""
    height, width = pixels.shape
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_bitmap_image(image_id, width, height, np.ascontiguousarray(pixels).tobytes(), flags)


def encode_lz4(pixels: np.ndarray, cache_id: int | None = None) -> bytes:
    """LZ4; with ``cache_id`` the client keeps the image under that id."""
    height, width = pixels.shape
    block = lz4.block.compress(np.ascontiguousarray(pixels), store_size=False)
    image_id, flags = (next(_image_ids), 0) if cache_id is None else (cache_id, IMAGE_CACHE_ME)
    return pack_lz4_image(image_id, width, height, [block], flags)


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
