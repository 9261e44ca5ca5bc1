"""Cursor images: ARGB pixels with a hotspot, and the arrow shown when a back end sets none."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CursorImage:
    """A pointer shape: ``pixels`` is width*height*4 bytes of B, G, R, A, rows top-down."""

    width: int
    height: int
    hot_x: int
    hot_y: int
    pixels: bytes

    def __post_init__(self) -> None:
        if not (0 < self.width <= 512 and 0 < self.height <= 512):
            raise ValueError(f"cursor size {self.width}x{self.height} out of range (1..512)")
        if len(self.pixels) != self.width * self.height * 4:
            raise ValueError("cursor pixels must be width * height * 4 bytes (B, G, R, A)")
        if not (0 <= self.hot_x < self.width and 0 <= self.hot_y < self.height):
            raise ValueError("the hotspot must lie inside the cursor")

    @classmethod
    def from_array(cls, bgra: np.ndarray, hot_x: int = 0, hot_y: int = 0) -> CursorImage:
        """From a (h, w, 4) uint8 array in B, G, R, A order."""
        if bgra.ndim != 3 or bgra.shape[2] != 4 or bgra.dtype != np.uint8:
            raise ValueError("cursor array must be (h, w, 4) uint8 in B, G, R, A order")
        height, width = bgra.shape[:2]
        return cls(width, height, hot_x, hot_y, np.ascontiguousarray(bgra).tobytes())


_ARROW = (
    "X...........",
    "XX..........",
    "X#X.........",
    "X##X........",
    "X###X.......",
    "X####X......",
    "X#####X.....",
    "X######X....",
    "X#######X...",
    "X########X..",
    "X#####XXXXX.",
    "X##X##X.....",
    "X#X.X##X....",
    "XX..X##X....",
    "X....X##X...",
    ".....X##X...",
    "......XX....",
)


def default_arrow() -> CursorImage:
    """A plain black-outlined white arrow, hotspot at its tip."""
    height, width = len(_ARROW), len(_ARROW[0])
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    for y, row in enumerate(_ARROW):
        for x, ch in enumerate(row):
            if ch == "X":
                pixels[y, x] = (0, 0, 0, 255)
            elif ch == "#":
                pixels[y, x] = (255, 255, 255, 255)
    return CursorImage.from_array(pixels)
