"""A second, independent real client: spicy-screenshot saves what it decoded."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from spice_server import Display

from test_gtk_client import test_pattern

pytestmark = pytest.mark.realclient


def read_ppm(data: bytes) -> np.ndarray:
    """A binary PPM (P6, maxval 255) as (h, w) uint32 0x00RRGGBB."""
    fields = data.split(maxsplit=4)
    assert fields[0] == b"P6" and fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    rgb = np.frombuffer(fields[4][: width * height * 3], dtype=np.uint8).reshape(height, width, 3)
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def test_spicy_screenshot_sees_the_exact_pixels(make_harness, tmp_path):
    tool = shutil.which("spicy-screenshot")
    assert tool, "spicy-screenshot is missing: install the Debian package spice-client-gtk"
    harness = make_harness()
    display = Display(400, 300)
    display.update(test_pattern(400, 300, seed=9))
    harness.call(harness.server.add_interface, display)
    out = tmp_path / "shot.ppm"
    subprocess.run(
        [tool, "-h", "127.0.0.1", "-p", str(harness.port), "-o", str(out)],
        check=True,
        timeout=30,
        capture_output=True,
        cwd=tmp_path,
    )
    assert np.array_equal(read_ppm(out.read_bytes()), display.snapshot() & 0xFFFFFF)
