"""The GLZ image encoder (C extension ``_glz``): round trips through a decoder written
from the format that keeps a client's window, copies from the images before, what the
window lets go of, ids, bad input, and the SpiceImage around a stream."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from glz_decoder import Window
from threads import ticks_during

from spice_server.display import _glz
from spice_server.display.encoding import encode_glz
from spice_server.protocol.constants import ImageType
from spice_server.protocol.messages.images import unpack_image

from scenery import landscape

RNG = np.random.default_rng(5)


def tiles(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Flat tiles of many colours, the x byte set (it is not sent)."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = (x // 4 * 0x010305 + y // 4 * 0x030501 + seed * 0x111111) & 0xFFFFFF
    return pixels.astype(np.uint32) | np.uint32(0xFF000000)


def coded(dictionary: _glz.Dictionary, window: Window, pixels: np.ndarray) -> bytes:
    """The stream of ``pixels``, checked by decoding it in ``window``."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    stream = dictionary.encode(pixels)
    assert np.array_equal(window.decode(stream), pixels & 0xFFFFFF)
    return stream


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((1, 1), dtype=np.uint32),
        np.full((3, 2), 0xFFFFFFFF, dtype=np.uint32),
        RNG.integers(0, 1 << 32, (17, 33), dtype=np.uint32),  # no copies at all
        RNG.integers(0, 3, (64, 97), dtype=np.uint32) * np.uint32(0x7F7F7F),  # runs, repeats
        tiles(130, 70),
        landscape(120, 80),
        np.full((300, 300), 0x123456, dtype=np.uint32),  # one long run
    ],
)
def test_images_round_trip_alone(pixels: np.ndarray) -> None:
    coded(_glz.Dictionary(1 << 20), Window(), pixels)


def test_lengths_and_offsets_of_every_size_round_trip() -> None:
    """Copies 1 to 7 pixels long and longer (extra length bytes, 255 and past), offsets
    of 12, 17 and 25 bits, distances of one byte and more."""
    dictionary, window = _glz.Dictionary(1 << 22), Window()
    row = RNG.integers(0, 1 << 24, 1000, dtype=np.uint32)
    # A row, then its parts again at growing distances back: lengths and near offsets.
    near = np.concatenate([row] + [row[: 1 + n * 37 % 700] for n in range(40)])
    coded(dictionary, window, near.reshape(1, -1))
    far = RNG.integers(0, 1 << 24, (600, 600), dtype=np.uint32)  # 360 kpixel: 19 bits
    coded(dictionary, window, far)
    for _ in range(70):  # images enough between for a distance past 6 bits
        coded(dictionary, window, RNG.integers(0, 1 << 24, (2, 5), dtype=np.uint32))
    again = np.concatenate([far[599], far[0], far[300], near[5:900]]).reshape(1, -1)
    stream = coded(dictionary, window, again)
    assert len(stream) < again.size  # copies: far less than 3 bytes a pixel


def test_content_drawn_again_costs_a_fraction_of_its_first_image() -> None:
    dictionary, window = _glz.Dictionary(1 << 20), Window()
    page = tiles(400, 300)
    first = coded(dictionary, window, page[:200])
    coded(dictionary, window, RNG.integers(0, 1 << 24, (50, 60), dtype=np.uint32))
    scrolled = coded(dictionary, window, page[37:237])  # scrolled: rows from before
    assert len(scrolled) < len(first) / 4
    shown_again = coded(dictionary, window, page[:200])
    assert len(shown_again) < 200 * 10  # a few bytes a row


def test_what_the_window_lets_go_of_is_never_copied_from() -> None:
    """A window of 10 kpixel: the client is told to keep only what fits, and no copy
    names an image it let go of (the decoder refuses one)."""
    dictionary, window = _glz.Dictionary(10_000), Window()
    images = [tiles(40, 60, seed) for seed in range(12)]  # 2,400 pixels each
    for n in range(40):
        coded(dictionary, window, images[n * 7 % 12])
        assert sum(image.size for image in window.images.values()) <= 10_000
        assert dictionary.kept == len(window.images)
    assert dictionary.kept == 4  # of 2,400 pixels each


def test_an_image_larger_than_the_window_lets_go_of_all_before_it() -> None:
    dictionary, window = _glz.Dictionary(5_000), Window()
    coded(dictionary, window, tiles(40, 60))
    assert dictionary.kept == 1
    coded(dictionary, window, tiles(100, 100, 1))  # 10 kpixel
    assert dictionary.kept == 0
    assert list(window.images) == [1]
    coded(dictionary, window, tiles(40, 60))  # nothing to copy from: whole again
    assert dictionary.kept == 1


def test_ids_follow_from_the_first() -> None:
    dictionary, window = _glz.Dictionary(1 << 16, first_id=41), Window()
    assert dictionary.next_id == 41
    for _ in range(3):
        coded(dictionary, window, tiles(10, 10))
    assert window.decoded == [41, 42, 43]
    assert dictionary.next_id == 44


def test_bad_input_is_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="GLZ window"):
        _glz.Dictionary(0)
    with pytest.raises(ValueError, match="GLZ window"):
        _glz.Dictionary(1 << 30)
    dictionary = _glz.Dictionary(1000)
    with pytest.raises(ValueError, match="uint32"):
        dictionary.encode(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="cannot code"):
        dictionary.encode(np.zeros((0, 4), dtype=np.uint32))
    with pytest.raises(ValueError, match="uint32"):
        dictionary.encode(b"not pixels")
    assert dictionary.next_id == 0  # nothing was coded


def test_other_threads_run_while_it_encodes() -> None:
    dictionary = _glz.Dictionary(1 << 22)
    picture = landscape(2000, 2000)
    during = ticks_during(lambda: dictionary.encode(picture))
    assert during > 100  # a GIL held for the whole encode would leave a switch's worth


def test_encode_glz_packs_a_glz_spice_image() -> None:
    dictionary, window = _glz.Dictionary(1 << 16, first_id=7), Window()
    pixels = tiles(20, 30)
    image = unpack_image(encode_glz(dictionary, pixels))
    assert (image.type, image.width, image.height) == (ImageType.GLZ_RGB, 30, 20)
    (size,) = struct.unpack_from("<I", image.payload)
    stream = image.payload[4:]
    assert size == len(stream)
    assert np.array_equal(window.decode(stream), pixels & 0xFFFFFF)
    assert window.decoded == [7]
