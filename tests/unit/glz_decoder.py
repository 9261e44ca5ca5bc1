"""A slow decoder of SPICE GLZ images in Python, for round-trip tests of ``_glz``.

It keeps a client's window as spice-gtk does: the images decoded, by id, each new one
telling it how many before it to keep (win_head_dist). It reads the format from the
decoder's side (copies from this image and from kept ones, their offsets and distances)
and refuses a copy from an image it does not keep, so that an encoder bug shows as a
mismatch or an error. It is no proof of interoperability: the real-client tests decode
with spice-gtk itself.
"""

from __future__ import annotations

import struct

import numpy as np
from lz_decoder import MAGIC, VERSION, longer

RGB32, TOP_DOWN = 8, 0x10
HEADER = struct.Struct(">IIBIIIQI")


class Window:
    """The images a client keeps, and the ids of the images it decoded."""

    def __init__(self) -> None:
        self.images: dict[int, np.ndarray] = {}  # id -> flat 0x00RRGGBB pixels
        self.decoded: list[int] = []

    def decode(self, stream: bytes) -> np.ndarray:
        """The (height, width) 0x00RRGGBB pixels of a GLZ stream (header and data)."""
        magic, version, kind, width, height, stride, image_id, keep = HEADER.unpack_from(stream)
        if (magic, version, kind) != (MAGIC, VERSION, RGB32 | TOP_DOWN) or stride != 4 * width:
            raise ValueError(f"header {magic:#x} {version:#x} type {kind:#x} stride {stride}")
        out = self._pixels(stream, HEADER.size, width * height, image_id)
        self.images[image_id] = out
        self.decoded.append(image_id)
        for old in [i for i in self.images if i < image_id - keep]:
            del self.images[old]
        return out.reshape(height, width)

    def _pixels(self, stream: bytes, at: int, size: int, image_id: int) -> np.ndarray:
        out: list[int] = []
        while len(out) < size:
            control = stream[at]
            at += 1
            if control < 32:
                for _ in range(control + 1):
                    b, g, r = stream[at : at + 3]
                    out.append(r << 16 | g << 8 | b)
                    at += 3
                continue
            length, is_long, offset = control >> 5, control >> 4 & 1, control & 15
            if length == 7:
                length, at = longer(stream, at, length)
            offset += stream[at] << 4
            code = stream[at + 1]
            at += 2
            count = code >> 6
            if not is_long:
                distance = code & 63
                for i in range(count):
                    distance += stream[at + i] << (6 + 8 * i)
                at += count
            else:
                offset += (code & 31) << 12
                distance = sum(stream[at + i] << (8 * i) for i in range(count))
                at += count
                if code >> 5 & 1:
                    offset += stream[at] << 17
                    at += 1
            if distance == 0:
                start = len(out) - (offset + 1)
                if start < 0:
                    raise ValueError(f"a copy from {offset + 1} pixels back, {len(out)} written")
                for i in range(length):  # one by one: a copy may overlap what it writes
                    out.append(out[start + i])
                continue
            source = self.images.get(image_id - distance)
            if source is None:
                raise ValueError(f"a copy from image {image_id - distance}, not kept")
            if offset + length > len(source):
                raise ValueError(f"a copy past the end of image {image_id - distance}")
            out.extend(int(p) for p in source[offset : offset + length])
        if len(out) != size or at != len(stream):
            raise ValueError(f"{len(out)} pixels of {size}, {at} bytes of {len(stream)} read")
        return np.array(out, dtype=np.uint32)
