"""Frame numbers painted as a strip of black and white cells, and read back from pixels.

A workload paints its frame number into every frame it draws; the client reads it back
from its decoded framebuffer, so a frame counts as shown only when its pixels arrived.
The strip has to survive what lossy stream codecs do to it (MJPEG, VP8, H.264 at low
quality, a half-size stream scaled back up), and a read of a half-updated or smeared
strip has to be rejected rather than taken for another frame:

- each bit is one large square cell (``CELL`` pixels, 16 by default), black or white; the
  reader averages only the centre half of the cell, away from the edges a codec blurs;
- a cell whose average luma is neither clearly dark nor clearly light rejects the read;
- 16 bits of number are followed by their 16-bit CRC (CCITT), so a strip mixed from two
  frames (a tile of the old one beside a tile of the new), noise or an all-black area is
  rejected with probability 1 - 2**-16.

Reading is pure Python on purpose: the client runs under the system Python, which has no
numpy; only the workloads' painter uses numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

NUMBER_BITS = 16
CHECK_BITS = 16
CELLS = NUMBER_BITS + CHECK_BITS
CELL = 16
LIGHT = 176  # a cell's mean luma above this reads as 1 ...
DARK = 80  # ... below this as 0; in between the whole read is rejected


def strip_size(cell: int = CELL) -> tuple[int, int]:
    """Width and height in pixels of the painted strip."""
    return CELLS * cell, cell


def crc16(value: int) -> int:
    """CRC-16/CCITT-FALSE of ``value``'s two bytes, big-endian."""
    crc = 0xFFFF
    for byte in ((value >> 8) & 0xFF, value & 0xFF):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def bits_of(number: int) -> list[int]:
    """The cells for ``number`` (taken modulo 2**16), left to right, 1 = white."""
    number &= (1 << NUMBER_BITS) - 1
    word = number << CHECK_BITS | crc16(number)
    return [(word >> (CELLS - 1 - i)) & 1 for i in range(CELLS)]


def number_of(bits: Sequence[int]) -> int | None:
    """The number the cells spell, or None when the check does not match."""
    if len(bits) != CELLS:
        return None
    word = 0
    for bit in bits:
        word = word << 1 | bit
    number = word >> CHECK_BITS
    return number if crc16(number) == word & ((1 << CHECK_BITS) - 1) else None


def paint_number(frame: np.ndarray, x: int, y: int, number: int, cell: int = CELL) -> None:
    """Paint ``number``'s strip into ``frame`` ((h, w) uint32 0x00RRGGBB) with its top
    left at x, y."""
    import numpy as np  # here, not at the top: the reading side runs without numpy

    width, height = strip_size(cell)
    cells = np.array([0xFFFFFF if bit else 0 for bit in bits_of(number)], dtype=np.uint32)
    frame[y : y + height, x : x + width] = np.repeat(cells, cell)[None, :]


def sample_rows(cell: int = CELL) -> range:
    """Rows of the strip (relative to its top) the reader looks at: the centre half."""
    return range(cell // 4, cell - cell // 4)


def read_strip(rows: Sequence[bytes], cell: int = CELL) -> int | None:
    """Decode a strip from its sampled rows, each B, G, R, X pixels from the strip's left
    edge (``len(rows) == len(sample_rows(cell))``); None when any cell is ambiguous or the
    check fails."""
    lo, hi = cell // 4, cell - cell // 4
    count = (hi - lo) * len(rows)
    bits = []
    for i in range(CELLS):
        start, stop = (i * cell + lo) * 4, (i * cell + hi) * 4
        blue = green = red = 0
        for row in rows:
            blue += sum(row[start:stop:4])
            green += sum(row[start + 1 : stop : 4])
            red += sum(row[start + 2 : stop : 4])
        luma = (red + 2 * green + blue) / (4 * count)
        if luma >= LIGHT:
            bits.append(1)
        elif luma <= DARK:
            bits.append(0)
        else:
            return None
    return number_of(bits)


def read_pixels(pixels: np.ndarray, x: int, y: int, cell: int = CELL) -> int | None:
    """Decode the strip at (x, y) of ``pixels``, a (h, w) uint32 array of 0x00RRGGBB (a
    framebuffer read into numpy): its sampled rows as the B, G, R, X bytes ``read_strip``
    takes."""
    width, _ = strip_size(cell)
    rows = [pixels[y + r, x : x + width].astype("<u4").tobytes() for r in sample_rows(cell)]
    return read_strip(rows, cell)
