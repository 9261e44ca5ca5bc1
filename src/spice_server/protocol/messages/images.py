"""SpiceImage: the images that draws carry (a descriptor, then a payload by type)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..constants import BitmapFlags, BitmapFormat, ImageType
from .codec import need

IMAGE_DESCRIPTOR = struct.Struct("<QBBII")  # id, type, flags, width, height
BITMAP_HEADER = struct.Struct("<BBIIII")  # format, flags, x, y, stride, palette offset
U32 = struct.Struct("<I")
U32_BE = struct.Struct(">I")

IMAGE_CACHE_ME = 1  # SPICE_IMAGE_FLAGS_CACHE_ME: the client keeps the image under its id


def pack_bitmap_image(
    image_id: int, width: int, height: int, pixels: bytes, flags: int = 0
) -> bytes:
    """A SpiceImage of type BITMAP: 32-bit B,G,R,x rows, top-down, packed (stride = width*4)."""
    stride = width * 4
    if len(pixels) != stride * height:
        raise ValueError(f"{len(pixels)} bytes of pixels for {width}x{height}")
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.BITMAP, flags, width, height)
        + BITMAP_HEADER.pack(BitmapFormat.BIT_32, BitmapFlags.TOP_DOWN, width, height, stride, 0)
        + pixels
    )


def pack_lz4_image(
    image_id: int, width: int, height: int, blocks: list[bytes], flags: int = 0, packed: bool = True
) -> bytes:
    """A SpiceImage of type LZ4: top-down flag, format, then blocks with big-endian lengths.

    The decoded blocks concatenate to rows, top-down: 24-bit (``packed``: B, G, R, width*3
    bytes, which the client aligns itself) or 32-bit (B, G, R, x).
    """
    payload = bytearray((1, BitmapFormat.BIT_24 if packed else BitmapFormat.BIT_32))
    for block in blocks:
        payload += U32_BE.pack(len(block))
        payload += block
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.LZ4, flags, width, height)
        + U32.pack(len(payload))
        + payload
    )


LZ_PLT_HEADER = struct.Struct("<BII")  # palette flags, data size, palette offset
PALETTE_HEADER = struct.Struct("<QH")  # unique id, entries


def pack_lz_plt_image(
    image_id: int,
    width: int,
    height: int,
    lz_data: bytes,
    palette: tuple[int, ...],
    at: int,
    flags: int = 0,
) -> bytes:
    """A SpiceImage of type LZ_PLT: LZ data of palette indices, then the palette
    (0x00RRGGBB entries) it points to. Its pointer counts from the start of the message
    body, so the image must know where in it it goes: at offset ``at``."""
    palette_at = at + IMAGE_DESCRIPTOR.size + LZ_PLT_HEADER.size + len(lz_data)
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.LZ_PLT, flags, width, height)
        + LZ_PLT_HEADER.pack(0, len(lz_data), palette_at)
        + lz_data
        + PALETTE_HEADER.pack(0, len(palette))
        + struct.pack(f"<{len(palette)}I", *palette)
    )


def pack_quic_image(image_id: int, width: int, height: int, stream: bytes, flags: int = 0) -> bytes:
    """A SpiceImage of type QUIC: the size of the QUIC stream, then the stream, whose own
    header repeats the width and height (RGB32: B, G, R, and the x byte not sent)."""
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.QUIC, flags, width, height)
        + U32.pack(len(stream))
        + stream
    )


def pack_glz_image(image_id: int, width: int, height: int, stream: bytes) -> bytes:
    """A SpiceImage of type GLZ_RGB: the size of the GLZ stream, then the stream, whose own
    header repeats the width and height and carries its id in the client's window."""
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.GLZ_RGB, 0, width, height)
        + U32.pack(len(stream))
        + stream
    )


def pack_jpeg_image(image_id: int, width: int, height: int, jpeg: bytes) -> bytes:
    """A SpiceImage of type JPEG: a whole JPEG file of exactly the descriptor's size."""
    return (
        IMAGE_DESCRIPTOR.pack(image_id, ImageType.JPEG, 0, width, height)
        + U32.pack(len(jpeg))
        + jpeg
    )


def pack_cached_image(image_id: int, width: int, height: int) -> bytes:
    """A SpiceImage of type FROM_CACHE: the image the client keeps under ``image_id``
    (sent with CACHE_ME earlier on this channel; the client waits for it otherwise)."""
    return IMAGE_DESCRIPTOR.pack(image_id, ImageType.FROM_CACHE, 0, width, height)


def pack_surface_image(surface_id: int, width: int, height: int) -> bytes:
    """A SpiceImage of type SURFACE: the pixels the client holds on ``surface_id`` (one of
    this channel's surfaces, the primary or an off-screen one), drawn from where they are."""
    return IMAGE_DESCRIPTOR.pack(0, ImageType.SURFACE, 0, width, height) + U32.pack(surface_id)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The descriptor of a SpiceImage and its type-specific payload (for tests and tools)."""

    id: int
    type: int
    flags: int
    width: int
    height: int
    payload: bytes


def unpack_image(data: bytes) -> ImageInfo:
    need(data, IMAGE_DESCRIPTOR.size, "SpiceImage")
    image_id, image_type, flags, width, height = IMAGE_DESCRIPTOR.unpack_from(data)
    return ImageInfo(image_id, image_type, flags, width, height, data[IMAGE_DESCRIPTOR.size :])
