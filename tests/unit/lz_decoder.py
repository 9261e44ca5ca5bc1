"""A slow decoder of SPICE LZ palette images in Python, for round-trip tests of ``_lz``.

It reads the format from the decoder's side (control bytes, copies, far distances,
packed indices), so that an encoder bug shows as a mismatch or an error. It is no
proof of interoperability: the real-client tests decode with spice-gtk itself.
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC, VERSION = 0x20205A4C, 0x00010001
BITS = {2: 1, 4: 4, 5: 8}  # the palette types we send (PLT1_BE, PLT4_BE, PLT8): bits a pixel
NEAR = 8191
HEADER = struct.Struct(">7I")


def longer(stream: bytes, at: int, length: int) -> tuple[int, int]:
    """A copy's length past its control byte's: bytes of 255 and one below, added (LZ
    and GLZ alike); the length and where the stream goes on."""
    while True:
        more = stream[at]
        at += 1
        length += more
        if more != 255:
            return length, at


def decompress(stream: bytes, size: int) -> bytes:
    """The ``size`` bytes that ``stream`` codes; raises if it codes more, or reads past
    its end, or leaves bytes over."""
    out = bytearray()
    at = 0
    while len(out) < size:
        control = stream[at]
        at += 1
        if control < 32:
            out += stream[at : at + control + 1]
            at += control + 1
            continue
        length = (control >> 5) - 1
        if length == 6:
            length, at = longer(stream, at, length)
        low = stream[at]
        at += 1
        offset = ((control & 31) << 8) + low
        if offset == NEAR:
            offset = NEAR + (stream[at] << 8) + stream[at + 1]
            at += 2
        length, start = length + 3, len(out) - (offset + 1)
        if start < 0:
            raise ValueError(f"a copy from {offset + 1} bytes back, {len(out)} written")
        for i in range(length):  # byte by byte: a copy may overlap what it writes
            out.append(out[start + i])
    if len(out) != size or at != len(stream):
        raise ValueError(f"{len(out)} bytes of {size}, {at} of {len(stream)} read")
    return bytes(out)


def decode(lz_data: bytes, palette: tuple[int, ...]) -> np.ndarray:
    """The (height, width) 0x00RRGGBB pixels of LZ data (header and stream) and palette."""
    magic, version, kind, width, height, stride, top_down = HEADER.unpack_from(lz_data)
    if (magic, version, top_down) != (MAGIC, VERSION, 1) or kind not in BITS:
        raise ValueError(f"header {magic:#x} {version:#x} type {kind} top-down {top_down}")
    bits = BITS[kind]
    if stride != -(-width * bits // 8):
        raise ValueError(f"stride {stride} for {width} pixels of {bits} bits")
    rows = decompress(lz_data[HEADER.size :], stride * height)
    packed = np.frombuffer(rows, dtype=np.uint8).reshape(height, stride)
    if bits == 8:
        indices = packed
    elif bits == 4:
        indices = np.stack([packed >> 4, packed & 15], axis=2).reshape(height, -1)
    else:
        indices = np.unpackbits(packed, axis=1)
    return np.array(palette, dtype=np.uint32)[indices[:, :width]]
