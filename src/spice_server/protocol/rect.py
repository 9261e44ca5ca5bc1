"""Rectangles: (left, top, right, bottom) in Python, top, left, bottom, right on the wire."""

from __future__ import annotations

import struct
from typing import NamedTuple

WIRE_RECT = struct.Struct("<iiii")


class Rect(NamedTuple):
    """A half-open rectangle: ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def from_size(cls, x: int, y: int, width: int, height: int) -> Rect:
        return cls(x, y, x + width, y + height)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def is_empty(self) -> bool:
        return self.right <= self.left or self.bottom <= self.top

    def intersect(self, other: Rect) -> Rect:
        return Rect(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )

    def union(self, other: Rect) -> Rect:
        return Rect(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def translated(self, dx: int, dy: int) -> Rect:
        return Rect(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)

    def touches(self, other: Rect) -> bool:
        """True when the two overlap or share an edge (their union has no gap)."""
        return (
            self.left <= other.right
            and other.left <= self.right
            and self.top <= other.bottom
            and other.top <= self.bottom
        )

    def pack(self) -> bytes:
        return WIRE_RECT.pack(self.top, self.left, self.bottom, self.right)

    @classmethod
    def unpack_from(cls, data: bytes, offset: int = 0) -> Rect:
        top, left, bottom, right = WIRE_RECT.unpack_from(data, offset)
        return cls(left, top, right, bottom)
