"""Generated photograph-like pictures for the workloads: a landscape with detail.

Noise alone is the worst case for every compressor and the best for none; real screens
show pictures with smooth gradients, edges and fine texture side by side. So the picture
is a sky gradient with a sun's glow, mountain ridges in receding haze, and foreground
hills with grass-like texture: codecs and LZ-type compressors see smooth areas they can
exploit, detail and a camera's grain they cannot. Deterministic for a seed, so both X
servers show the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def fractal_noise(
    rng: np.random.Generator, height: int, width: int, coarsest: int, octaves: int
) -> np.ndarray:
    """Smooth value noise in [0, 1): random grids of doubling resolution, bilinearly
    upsampled and summed with halving weights."""
    total = np.zeros((height, width))
    weight, norm = 1.0, 0.0
    cells = coarsest
    for _ in range(octaves):
        grid = rng.random((cells + 2, cells + 2))
        ys = np.linspace(0, cells, height, endpoint=False)
        xs = np.linspace(0, cells, width, endpoint=False)
        y0, x0 = ys.astype(int), xs.astype(int)
        fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
        fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep: no creases
        top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
        bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
        total += weight * (top * (1 - fy) + bottom * fy)
        norm += weight
        weight /= 2
        cells *= 2
    return total / norm


def ridge(rng: np.random.Generator, width: int, coarsest: int, octaves: int) -> np.ndarray:
    """A 1-D fractal profile in [0, 1): the skyline of a mountain range."""
    return fractal_noise(rng, 1, width, coarsest, octaves)[0]


def landscape(width: int, height: int, seed: int = 1, grain: float = 2.5) -> np.ndarray:
    """A (height, width) uint32 picture, 0x00RRGGBB, with a camera's ``grain`` (the
    standard deviation of per-pixel noise; 0 for none)."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    rgb = np.empty((height, width, 3))
    # Sky: deep blue at the top to a pale horizon, with a warm glow around the sun.
    sky_top, horizon = np.array([40, 90, 170]), np.array([200, 215, 230])
    rgb[...] = sky_top + (horizon - sky_top) * (y**0.7)[..., None]
    glow = np.exp(-(((x - 0.7) * 4) ** 2 + ((y - 0.25) * 6) ** 2))
    rgb += glow[..., None] * np.array([55, 40, 0])
    clouds = fractal_noise(rng, height, width, 6, 6)
    rgb += (np.clip(clouds - 0.55, 0, None) * 200)[..., None] * (y < 0.5)[..., None]
    rows = np.arange(height)[:, None]
    # Three mountain ranges, the farther the hazier.
    for level, colour, detail in (
        (0.35, np.array([120, 130, 160]), 0.3),
        (0.5, np.array([80, 100, 90]), 0.5),
        (0.65, np.array([60, 85, 45]), 0.8),
    ):
        profile = (level - 0.18 * ridge(rng, width, 5, 8)) * height
        mask = rows >= profile[None, :]
        texture = fractal_noise(rng, height, width, 24, 5)
        shade = colour * (0.75 + 0.5 * detail * texture)[..., None]
        rgb = np.where(mask[..., None], shade, rgb)
    # Foreground: grass-like high-frequency texture over a gentle gradient.
    ground = rows >= (0.8 - 0.05 * ridge(rng, width, 3, 4))[None, :] * height
    grass = fractal_noise(rng, height, width, 96, 3)
    base = np.array([70, 110, 35]) * (0.6 + 0.8 * grass)[..., None]
    base += (y * 40)[..., None]
    rgb = np.where(ground[..., None], base, rgb)
    rgb += rng.normal(0.0, grain, (height, width, 1)) if grain else 0.0
    pixels = np.clip(rgb, 0, 255).astype(np.uint32)
    return pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]


def cached_landscape(
    width: int, height: int, seed: int = 1, grain: float = 2.5, cache: str | None = None
) -> np.ndarray:
    """``landscape``, kept in the directory ``cache`` (if given) between runs: making a
    large one takes a second or two, which a benchmark would pay at every start."""
    if cache is None:
        return landscape(width, height, seed, grain)
    path = Path(cache) / f"landscape-{width}x{height}-{seed}-{grain}.npy"
    if path.exists():
        return np.load(path)
    pixels = landscape(width, height, seed, grain)
    np.save(path, pixels)
    return pixels
