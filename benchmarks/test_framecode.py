"""The frame-number strip survives what lossy codecs do to it, and misreads are rejected.

    .venv/bin/python -m pytest benchmarks/test_framecode.py -q
    .venv/bin/python benchmarks/test_framecode.py

Numbers are painted the way the workloads paint them (into a photograph-like picture),
degraded (JPEG at quality 30 with 4:2:0 chroma, a half-size stream scaled back up, both)
and read the way the client reads them. A strip torn between two frames, a cross-fade
of two frames, noise and blank areas must read as nothing rather than as a wrong number.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest
import simplejpeg
from PIL import Image

from framecode import CELL, paint_number, read_strip, sample_rows, strip_size

WIDTH, HEIGHT = 640, 64
X, Y = 40, 24
NUMBERS = [1, 2, 3, 255, 256, 4095, 12345, 32768, 54321, 65535]


def picture(seed: int) -> np.ndarray:
    """A photograph-like background: smooth colour gradients with fine grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    channels = [
        np.clip(
            128
            + 100 * np.sin(x / rng.uniform(20, 90) + y / rng.uniform(10, 40) + phase)
            + rng.normal(0, 6, x.shape),
            0,
            255,
        ).astype(np.uint32)
        for phase in rng.uniform(0, 6.3, 3)
    ]
    return channels[0] << 16 | channels[1] << 8 | channels[2]


def frame_with(number: int) -> np.ndarray:
    frame = picture(number % 7)
    paint_number(frame, X, Y, number)
    return frame


def to_rgb(frame: np.ndarray) -> np.ndarray:
    return np.stack([(frame >> s) & 0xFF for s in (16, 8, 0)], axis=-1).astype(np.uint8)


def read(rgb: np.ndarray, cell: int = CELL) -> int | None:
    """What the client reads: B, G, R, X rows of the strip's sampled lines."""
    width, _ = strip_size(cell)
    bgrx = np.zeros((*rgb.shape[:2], 4), dtype=np.uint8)
    bgrx[..., 0], bgrx[..., 1], bgrx[..., 2] = rgb[..., 2], rgb[..., 1], rgb[..., 0]
    rows = [bgrx[Y + r, X : X + width].tobytes() for r in sample_rows(cell)]
    return read_strip(rows, cell)


def jpeg(rgb: np.ndarray, quality: int = 30) -> np.ndarray:
    data = simplejpeg.encode_jpeg(rgb, quality=quality, colorsubsampling="420")
    return simplejpeg.decode_jpeg(data)


def half_then_up(rgb: np.ndarray) -> np.ndarray:
    image = Image.fromarray(rgb)
    small = image.resize((WIDTH // 2, HEIGHT // 2), Image.Resampling.BILINEAR)
    return np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR))


DEGRADATIONS = {
    "none": lambda rgb: rgb,
    "jpeg30": jpeg,
    "half-size": half_then_up,
    "half-size+jpeg30": lambda rgb: jpeg(half_then_up(rgb)),
    "jpeg20+half-size+jpeg20": lambda rgb: jpeg(half_then_up(jpeg(rgb, 20)), 20),
}


@pytest.mark.parametrize("degrade", DEGRADATIONS.values(), ids=DEGRADATIONS.keys())
@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_survive_lossy_codecs(
    number: int, degrade: Callable[[np.ndarray], np.ndarray]
) -> None:
    assert read(degrade(to_rgb(frame_with(number)))) == number


def test_a_strip_torn_between_two_frames_never_reads_as_a_third() -> None:
    """Tiles of the new frame beside tiles of the old one: every split position."""
    width, _ = strip_size()
    wrong = accepted_mixes = 0
    rng = np.random.default_rng(7)
    for _ in range(40):
        old, new = (int(v) for v in rng.integers(1, 65536, 2))
        before, after = to_rgb(frame_with(old)), to_rgb(frame_with(new))
        for split in range(X, X + width, 4):
            for torn in (before.copy(), after.copy()):
                torn[:, split:] = (after if torn is before else before)[:, split:]
                got = read(torn)
                if got not in (None, old, new):
                    wrong += 1
                accepted_mixes += got is not None
    assert wrong == 0
    assert accepted_mixes > 0  # whole-strip splits (at either end) still read


def test_cross_fades_noise_and_blank_areas_are_rejected() -> None:
    rng = np.random.default_rng(3)
    for old, new in ((1, 2), (100, 200), (4242, 31337)):
        a, b = to_rgb(frame_with(old)).astype(np.uint16), to_rgb(frame_with(new))
        blended = ((a + b) // 2).astype(np.uint8)
        assert read(blended) is None  # the cells that differ are grey
    for _ in range(200):
        assert read(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)) is None
    for level in (0, 255):
        assert read(np.full((HEIGHT, WIDTH, 3), level, dtype=np.uint8)) is None
    assert read(to_rgb(picture(11))) is None


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
