"""How far spice-gtk's colour conversion moves a stream's colours, and the correction.

``python benchmarks/client_colour.py`` paints 3072 colours drawn from the whole RGB cube
in 8x8 blocks (so 4:2:0 costs them nothing), converts them to YUV as the inter-frame
encoders do (spice_server.display.yuv), once plain and once corrected, and has GStreamer
convert them back as spice-gtk does (clients/gst_convert.py). It prints each channel's
mean error and RMS error at the client, then the per-plane correction fitted anew
(compare it with yuv.CORRECTION), and the PSNR a moving photograph keeps through the
conversion alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE / "workloads")]

from spice_server.display.yuv import CORRECTION, to_yuv420  # noqa: E402

from measures import difference  # noqa: E402
from scenery import landscape  # noqa: E402

CONVERTER = HERE / "clients" / "gst_convert.py"
BLOCK = 8
COLUMNS, ROWS = 64, 48


def colour_blocks(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(picture, colours): a (h, w, 4) uint8 B, G, R, X picture of BLOCK-sized blocks and
    the (n, 3) B, G, R colour of each block, row by row."""
    colours = np.random.default_rng(seed).integers(0, 256, (ROWS * COLUMNS, 3), np.uint8)
    blocks = np.zeros((ROWS, COLUMNS, 4), np.uint8)
    blocks[..., :3] = colours.reshape(ROWS, COLUMNS, 3)
    return np.repeat(np.repeat(blocks, BLOCK, 0), BLOCK, 1), colours


def block_centres(bgrx: np.ndarray) -> np.ndarray:
    """The (n, 3) B, G, R value at the centre of each block of a converted picture."""
    return bgrx[BLOCK // 2 :: BLOCK, BLOCK // 2 :: BLOCK, :3].reshape(-1, 3)


def yuv_centres(frame: av.VideoFrame) -> np.ndarray:
    """The (n, 3) Y, U, V value at the centre of each block of a yuv420p frame."""
    values = []
    for plane, step in zip(frame.planes, (BLOCK, BLOCK // 2, BLOCK // 2), strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        values.append(rows[step // 2 :: step, step // 2 : plane.width : step].ravel())
    return np.stack(values, 1)


def packed(frame: av.VideoFrame) -> bytes:
    """The frame's Y, U and V planes without their row padding."""
    return b"".join(
        np.frombuffer(memoryview(plane), np.uint8)
        .reshape(-1, plane.line_size)[:, : plane.width]
        .tobytes()
        for plane in frame.planes
    )


def at_client(frames: list[av.VideoFrame]) -> list[np.ndarray]:
    """The frames as spice-gtk's GStreamer shows them: (h, w, 4) uint8 B, G, R, X each."""
    width, height = frames[0].width, frames[0].height
    shown = subprocess.run(
        ["/usr/bin/python3", str(CONVERTER), str(width), str(height)],
        input=b"".join(packed(frame) for frame in frames),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    pictures = np.frombuffer(shown, np.uint8).reshape(-1, height, width, 4)
    assert len(pictures) == len(frames), (len(pictures), len(frames))
    return list(pictures)


def errors(shown: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (B, G, R): the mean error and the RMS error of ``shown``."""
    difference = shown.astype(float) - expected.astype(float)
    return difference.mean(0), np.sqrt((difference**2).mean(0))


def psnr(shown: np.ndarray, expected: np.ndarray) -> float:
    """PSNR in dB of one (h, w, 4) B, G, R, X picture against another, over R, G, B."""
    as_pixels = [np.ascontiguousarray(p).view(np.uint32)[..., 0] for p in (shown, expected)]
    return difference(*as_pixels)[1]


def fitted_correction(yuv: np.ndarray, shown: np.ndarray) -> dict[str, tuple[float, float]]:
    """The per-plane (gain, offset) that brings the client's affine conversion of
    ``yuv`` ((n, 3) Y, U, V) closest, by least squares, to the exact BT.601 one. Values
    whose exact conversion leaves the RGB cube are left out: every client clips them."""
    yl, ul, vl = (
        (yuv[:, 0] - 16.0) * 255 / 219,
        (yuv[:, 1] - 128.0) * 255 / 224,
        (yuv[:, 2] - 128.0) * 255 / 224,
    )
    exact = np.stack([yl + 1.772 * ul, yl - 0.344136 * ul - 0.714136 * vl, yl + 1.402 * vl], 1)
    inside = ((exact >= 0) & (exact <= 255)).all(1)
    exact, shown = exact[inside], shown[inside]
    y, u, v = (yuv[inside, k].astype(float) for k in range(3))
    ones = np.ones_like(y)
    # The client's conversion as an affine map, fitted per channel (B, G, R).
    client = [
        np.linalg.lstsq(np.stack([y, u, v, ones], 1), shown[:, k], rcond=None)[0] for k in range(3)
    ]
    # Unknowns (gain, offset) per plane: client(gain * plane + offset) = exact.
    rows, targets = [], []
    for k in range(3):
        a_y, a_u, a_v, constant = client[k]
        rows.append(np.stack([a_y * y, a_y * ones, a_u * u, a_u * ones, a_v * v, a_v * ones], 1))
        targets.append(exact[:, k] - constant)
    solution = np.linalg.lstsq(np.concatenate(rows), np.concatenate(targets), rcond=None)[0]
    return {
        plane: (float(solution[2 * i]), float(solution[2 * i + 1])) for i, plane in enumerate("yuv")
    }


def main() -> None:
    picture, colours = colour_blocks()
    plain, corrected = to_yuv420(picture, corrected=False), to_yuv420(picture)
    shown_plain, shown_corrected = (block_centres(p) for p in at_client([plain, corrected]))
    for name, shown in (("plain", shown_plain), ("corrected", shown_corrected)):
        bias, rms = errors(shown, colours)
        print(f"{name:>9}: mean error B G R {np.round(bias, 2)}, RMS {np.round(rms, 2)}")
    print(
        "fitted correction:",
        {
            k: (round(g, 5), round(o, 3))
            for k, (g, o) in fitted_correction(
                yuv_centres(plain), shown_plain.astype(float)
            ).items()
        },
    )
    print("in use:           ", CORRECTION)
    photo = np.ascontiguousarray(landscape(560, 360, seed=3, grain=1.5)).view(np.uint8)
    photo = photo.reshape(360, 560, 4)
    for name, frame in (
        ("plain", to_yuv420(photo, corrected=False)),
        ("corrected", to_yuv420(photo)),
    ):
        print(
            f"{name:>9}: photograph through the conversion alone, "
            f"{psnr(at_client([frame])[0], photo):.2f} dB"
        )


if __name__ == "__main__":
    main()
