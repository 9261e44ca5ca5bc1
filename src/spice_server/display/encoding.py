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

from ..protocol.messages.display import pack_bitmap_image, pack_jpeg_image, pack_lz4_image

_image_ids = itertools.count(1)


def encode_bitmap(pixels: np.ndarray) -> bytes:
    height, width = pixels.shape
    return pack_bitmap_image(
        next(_image_ids), width, height, np.ascontiguousarray(pixels).tobytes()
    )


def encode_lz4(pixels: np.ndarray) -> bytes:
    height, width = pixels.shape
    block = lz4.block.compress(np.ascontiguousarray(pixels), store_size=False)
    return pack_lz4_image(next(_image_ids), width, height, [block])


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
