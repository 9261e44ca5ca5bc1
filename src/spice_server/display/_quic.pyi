from typing_extensions import Buffer

def encode(pixels: Buffer, /) -> bytes:
    """The QUIC stream (RGB32) of a C-contiguous (height, width) uint32 array."""
