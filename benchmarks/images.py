"""Still-image encoders side by side: bytes and encode speed of QUIC, LZ4, LZ palette and JPEG.

The pictures are the benchmarks' landscape (with a camera's grain and without), a
terminal-like text screen, a flat desktop, and the strips a pan brings in each frame (a
few columns of the landscape, a one-pixel row). For each: the size of the SpiceImage
each encoder makes (LZ4 at the level the server picks for that size, and in its fast
mode; JPEG at quality 85, which the server uses for still images), as a share of the raw
pixels, and the encoding speed in Mpixel/s of CPU time (best of several repeats, so
other busy processes stay out of the figures; QUIC and LZ4 are lossless, JPEG is not).

    .venv/bin/python benchmarks/images.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from spice_server.display import _lz
from spice_server.display.content import is_photographic
from spice_server.display.encoding import (
    FAST,
    encode_jpeg_image,
    encode_lz4,
    encode_lz_palette,
    encode_quic,
)

sys.path.insert(0, str(Path(__file__).parent / "workloads"))
from scenery import landscape

Encoder = Callable[[np.ndarray], bytes]
ENCODERS: dict[str, Encoder] = {
    "QUIC": encode_quic,
    "LZ4 (server's level)": encode_lz4,
    "LZ4 fast": lambda pixels: encode_lz4(pixels, max_level=FAST),
    "LZ palette": encode_lz_palette,  # 256 colours at most
    "JPEG q85": lambda pixels: encode_jpeg_image(pixels, 85),
}


def text_screen(width: int, height: int) -> np.ndarray:
    """Lines of real glyphs (Pillow's built-in font) on a dark terminal background."""
    image = Image.new("RGB", (width, height), (24, 24, 32))
    draw = ImageDraw.Draw(image)
    words = ["def", "encode(pixels):", "return", "quic.encode(pixels)", "#", "lossless", "60"]
    for row, top in enumerate(range(4, height - 12, 14)):
        line = " ".join(words[(row + i) % len(words)] for i in range(24))
        draw.text((6, top), line, fill=(200, 220, 200) if row % 5 else (120, 180, 255))
    rgb = np.asarray(image, dtype=np.uint32)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def terminal_page(width: int, height: int) -> np.ndarray:
    """Lines of a listing in a bitmap font, black on white: an xterm's two colours."""
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing
    for row, top in enumerate(range(2, height - 12, 13)):
        line = f"-rw-r--r-- 1 root root {row * 7919 % 100000:6d} Dec  7 file{row}.txt"
        draw.text((2, top), line, fill=0)
    ink = np.asarray(image, dtype=bool)
    return np.where(ink, 0xFFFFFF, 0x000000).astype(np.uint32)


def desktop(width: int, height: int) -> np.ndarray:
    """Flat panels, a title bar, thin lines: UI."""
    pixels = np.full((height, width), 0x2A2A40, dtype=np.uint32)
    pixels[: height // 20] = 0x3C3F58
    pixels[height // 8 : height // 2, width // 10 : width // 2] = 0xF0F0F0
    pixels[height // 8 : height // 2 : 18, width // 10 : width // 2] = 0xC8C8D0
    pixels[height // 2 + 40 : -40, width // 2 :: 9] = 0x8080A0
    return pixels


def pictures() -> dict[str, np.ndarray]:
    grainy = landscape(1024, 768)
    return {
        "landscape 1024x768, grain": grainy,
        "landscape 1024x768, no grain": landscape(1024, 768, grain=0.0),
        "landscape 1920x1080, grain": landscape(1920, 1080),
        "text screen 1024x768": text_screen(1024, 768),
        "terminal page 480x650, 2 colours": terminal_page(480, 650),
        "desktop UI 1024x768": desktop(1024, 768),
        "pan strip 8x768 (landscape)": np.ascontiguousarray(grainy[:, -8:]),
        "pan strip 1x768 (landscape)": np.ascontiguousarray(grainy[:, -1:]),
        "pan strip 1024x1 (landscape)": np.ascontiguousarray(grainy[-1:]),
    }


def cpu_seconds(encode: Encoder, pixels: np.ndarray, repeat: int) -> tuple[float, int]:
    """The best CPU time of one encode, and the size of what it made."""
    best, size = float("inf"), 0
    runs = max(1, int(2e6 // pixels.size))  # small images: several per measure
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(runs):
            size = len(encode(pixels))
        best = min(best, (time.process_time() - start) / runs)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    names = list(ENCODERS)
    print("| picture | judged | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for title, pixels in pictures().items():
        cells = []
        for name in names:
            if name == "LZ palette" and not _lz.fits_palette(pixels):
                cells.append("-")  # more than 256 colours
                continue
            seconds, size = cpu_seconds(ENCODERS[name], pixels, args.repeat)
            mpixels = pixels.size / max(seconds, 1e-9) / 1e6
            share = 100 * size / pixels.nbytes
            cells.append(f"{size / 1024:.1f} kB ({share:.0f} %), {mpixels:.0f} Mpx/s")
        judged = "photo" if is_photographic(pixels) else "text/UI"
        print(f"| {title} | {judged} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
