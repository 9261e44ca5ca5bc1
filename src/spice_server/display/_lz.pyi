import numpy as np

def encode_palette(pixels: np.ndarray, /) -> tuple[bytes, tuple[int, ...]] | None:
    """SPICE LZ data (header and stream) of a palette image of a C-contiguous (height,
    width) uint32 array, and its palette (two colours at least); None past 256 colours."""

def fits_palette(pixels: np.ndarray, /) -> bool:
    """Whether a C-contiguous (height, width) uint32 array has 256 colours at most."""
