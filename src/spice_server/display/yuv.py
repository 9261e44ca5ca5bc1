"""The YUV frames the inter-frame encoders take, in the colours the client will show.

H.264 and VP8 carry 4:2:0 YUV; the client turns it back into BGRx. spice-gtk does that
with GStreamer's videoconvert, whose fast I420-to-BGRx path works in 8-bit fixed point
and truncates: measured on GStreamer 1.22 over YUV values of every in-gamut colour, it
shows blue 1.8, green 3.9 and red 2.0 levels darker than the BT.601 conversion it stands
for, and scales luma by 0.992. That is 2 to 2.7 dB of PSNR lost at the client for any
picture, whatever bit rate the encoder spends.

So after swscale's BT.601 conversion, each plane goes through an affine correction (an
inverse of the client's error, fitted by least squares against it:
benchmarks/client_colour.py measures it again): the client then shows the source within
its own rounding (H.264 at level 3 on the moving-photograph test, 34.9 dB -> 37.3 dB at
the client's worst frame). A decoder that converts exactly (a browser, libavcodec) would
see the correction as an error of its own, about 0.6 dB: spice-html5, which plays VP8
through the browser, gets the plain conversion (``corrected`` false).

The correction is a table lookup, two bytes at a time (a 65536-entry table per plane),
since a byte-wise lookup cost half as much again as swscale's conversion at 1080p.
"""

from __future__ import annotations

import av
import numpy as np

# Plane value -> value sent, as (gain, offset): fitted against GStreamer 1.22's
# videoconvert (I420 to BGRx, BT.601, limited range).
CORRECTION = {"y": (1.00751, 1.725), "u": (1.00668, -1.496), "v": (1.00521, -1.352)}


def _pair_table(gain: float, offset: float) -> np.ndarray:
    """The correction of two neighbouring bytes at once, indexed by them as one uint16."""
    single = np.clip(np.rint(np.arange(256) * gain + offset), 0, 255).astype(np.uint16)
    pairs = np.arange(1 << 16)
    # Little and big endian alike: the low byte of the index is the first in memory
    # on little-endian machines, so build the table from the machine's own order.
    first, second = (pairs & 0xFF, pairs >> 8) if np.little_endian else (pairs >> 8, pairs & 0xFF)
    table = np.empty(1 << 16, np.uint16)
    table.view(np.uint8).reshape(-1, 2)[:, 0] = single[first]
    table.view(np.uint8).reshape(-1, 2)[:, 1] = single[second]
    return table


_TABLES = tuple(_pair_table(*CORRECTION[plane]) for plane in ("y", "u", "v"))


def to_yuv420(bgrx: np.ndarray, corrected: bool = True) -> av.VideoFrame:
    """A (h, w, 4) uint8 B, G, R, X picture as the yuv420p frame to encode, corrected for
    spice-gtk's conversion back or (``corrected`` false) as BT.601 has it."""
    # Wrapped, not copied: from_ndarray's copy took three times swscale's conversion
    # (4.8 against 1.6 ms at 1024x768), the most of a VP8 or H.264 frame's cost.
    frame = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(bgrx), format="bgra")
    frame = frame.reformat(format="yuv420p")
    if not corrected:
        return frame
    for plane, table in zip(frame.planes, _TABLES, strict=True):
        # Rows are padded to an aligned stride, so every plane holds an even byte count.
        pairs = np.frombuffer(memoryview(plane), np.uint16)
        np.take(table, pairs, out=pairs)
    return frame
