import numpy as np

def encode(pixels: np.ndarray, /) -> bytes:
    """The QUIC stream (RGB32) of a C-contiguous (height, width) uint32 array."""
