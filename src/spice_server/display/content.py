"""Telling photographic pixels from text and flat UI, cheaply.

Lossy encodings (JPEG images, video streams) are worth it only for photographic content:
on text they blur edges and save little. LZ4 itself is the judge: text and UI compress to
a small fraction of their size, photographs and video barely compress at all.
"""

from __future__ import annotations

import lz4.block
import numpy as np

INCOMPRESSIBLE = 0.3  # LZ4 output / input size above which content counts as photographic
SAMPLE_ROWS = 32


def is_photographic(pixels: np.ndarray) -> bool:
    """True when LZ4 cannot do much with the pixels (judged on a sample of rows, for speed)."""
    sample = np.ascontiguousarray(pixels[:: max(1, pixels.shape[0] // SAMPLE_ROWS)])
    squeezed = lz4.block.compress(sample, store_size=False)
    return len(squeezed) > INCOMPRESSIBLE * sample.nbytes
