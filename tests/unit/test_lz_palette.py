"""The LZ palette image encoder (C extension ``_lz``): round trips through a decoder
written from the format, the palette's depth by the colours, copies near and far, the
bound on its output, the SpiceImage in a DRAW_COPY, and when it is chosen."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from lz_decoder import HEADER, decode, decompress
from threads import ticks_during

from spice_server.display import _lz
from spice_server.display.encoding import encode_lz_palette
from spice_server.display.images import ImageKind, choose_image, image_policy
from spice_server.protocol.constants import ImageCompression, ImageType
from spice_server.protocol.messages.display import MsgDisplayDrawCopy
from spice_server.protocol.messages.images import IMAGE_CACHE_ME, unpack_image
from spice_server.protocol.rect import Rect

from scenery import landscape

RNG = np.random.default_rng(11)
TYPES = {2: 2, 16: 4, 17: 5, 256: 5}  # colours -> LZ image type (PLT1_BE, PLT4_BE, PLT8)


def coloured(colours: int, height: int, width: int) -> np.ndarray:
    """Random pixels of exactly ``colours`` colours (each used), the x byte set."""
    palette = RNG.choice(1 << 24, colours, replace=False).astype(np.uint32)
    indices = RNG.integers(0, colours, (height, width))
    indices.flat[:colours] = np.arange(colours)
    return palette[indices] | np.uint32(0xFF000000)


def roundtrip(pixels: np.ndarray) -> tuple[bytes, tuple[int, ...]]:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    coded = _lz.encode_palette(pixels)
    assert coded is not None
    lz_data, palette = coded
    assert np.array_equal(decode(lz_data, palette), pixels & 0xFFFFFF)
    return lz_data, palette


@pytest.mark.parametrize(
    ("colours", "shape"),
    [
        (colours, shape)
        for colours in sorted(TYPES)
        for shape in [(1, 2), (7, 13), (1, 1000), (1000, 1), (37, 203)]
        if shape[0] * shape[1] >= colours
    ],
)
def test_palette_images_round_trip_at_the_depth_their_colours_need(
    colours: int, shape: tuple[int, int]
) -> None:
    lz_data, palette = roundtrip(coloured(colours, *shape))
    assert HEADER.unpack_from(lz_data)[2] == TYPES[colours]
    assert len(palette) == colours and max(palette) < 1 << 24  # the x byte is not a colour


def test_one_colour_has_a_palette_of_two_as_the_decoder_reads_two() -> None:
    for shape in [(1, 1), (5, 9)]:
        lz_data, palette = roundtrip(np.full(shape, 0x123456, dtype=np.uint32))
        assert HEADER.unpack_from(lz_data)[2] == TYPES[2] and len(palette) == 2


def test_more_than_256_colours_is_no_palette_image() -> None:
    assert _lz.fits_palette(coloured(256, 40, 40))
    many = coloured(257, 40, 40)
    assert not _lz.fits_palette(many)
    assert _lz.encode_palette(many) is None
    with pytest.raises(ValueError, match="256"):
        encode_lz_palette(many)
    assert not _lz.fits_palette(np.ascontiguousarray(landscape(64, 64), dtype=np.uint32))


def test_runs_and_repeats_near_and_far_are_copies() -> None:
    """A flat area is a run (a copy overlapping itself, its length past 264 bytes in
    extension bytes); rows seen 8192 bytes or more before are far copies."""
    flat = np.full((300, 400), 0xFFFFFF, dtype=np.uint32)
    flat[150, 200] = 0
    assert len(roundtrip(flat)[0]) < HEADER.size + 200
    palette = RNG.choice(1 << 24, 200, replace=False).astype(np.uint32)
    first, second = (palette[RNG.integers(0, 200, (100, 100))] for _ in range(2))
    lz_data, _ = roundtrip(np.concatenate([first, second, first]))  # 10,000 bytes each
    assert len(lz_data) < 2.2 * 10_000  # the third, 20,000 bytes on, costs little


def test_the_stream_never_outgrows_its_bytes_and_a_control_byte_per_32() -> None:
    noise = coloured(256, 200, 300)  # nothing to match: literals
    lz_data, _ = roundtrip(noise)
    size = noise.size
    assert len(lz_data) <= HEADER.size + size + size // 32 + 1


def test_a_stream_that_copies_from_before_its_start_is_refused_by_the_test_decoder() -> None:
    """The decoder used here does check what it reads (a copy from nothing)."""
    with pytest.raises(ValueError, match="back"):
        decompress(bytes([0x20, 0x05]), 4)


def test_a_terminal_page_is_a_fraction_of_its_raw_bits() -> None:
    """Two colours, 1 bit a pixel: 650x480 of text-like glyph rows."""
    y, x = np.mgrid[0:650, 0:480]
    glyphs = ((x // 6 * 7 + y // 13 * 3) % 11 < 6) & (y % 13 < 9) & ((x + y) % 3 != 0)
    page = np.where(glyphs, 0x000000, 0xFFFFFF).astype(np.uint32)
    lz_data, palette = roundtrip(page)
    assert set(palette) == {0x000000, 0xFFFFFF}
    assert len(lz_data) < page.size / 8 / 4


def test_anything_but_a_2d_array_of_uint32_pixels_is_refused() -> None:
    for function in (_lz.fits_palette, _lz.encode_palette):
        with pytest.raises(TypeError):
            function("pixels")
        for wrong in (
            np.zeros((4, 4), np.uint8),
            np.zeros(16, np.uint32),
            np.zeros((0, 4), np.uint32),
        ):
            with pytest.raises(ValueError):
                function(wrong)


def test_other_threads_run_while_it_encodes() -> None:
    picture = np.ascontiguousarray(np.tile(coloured(256, 256, 256), (8, 8)))  # 4 Mpixel
    during = ticks_during(lambda: _lz.encode_palette(picture))
    assert during > 100  # a GIL held for the whole encode would leave a switch's worth


# -- the SpiceImage and the choice ---------------------------------------------------------


def test_a_draw_copy_points_to_the_palette_after_the_data() -> None:
    """The palette's pointer counts from the start of the message body, where a
    DRAW_COPY's image starts at IMAGE_OFFSET."""
    pixels = coloured(5, 20, 30)
    image = encode_lz_palette(pixels, cache_id=77)
    info = unpack_image(image)
    assert (info.type, info.id, info.flags) == (ImageType.LZ_PLT, 77, IMAGE_CACHE_ME)
    assert (info.width, info.height) == (30, 20)
    body = MsgDisplayDrawCopy(0, Rect(0, 0, 30, 20), image).encode()
    at = MsgDisplayDrawCopy.IMAGE_OFFSET + 18  # past the image's descriptor
    flags, size, palette_at = struct.unpack_from("<BII", body, at)
    assert flags == 0 and palette_at == at + 9 + size
    _unique, entries = struct.unpack_from("<QH", body, palette_at)
    palette = struct.unpack_from(f"<{entries}I", body, palette_at + 10)
    assert palette_at + 10 + 4 * entries == len(body)
    lz_data = body[at + 9 : at + 9 + size]
    assert np.array_equal(decode(lz_data, palette), pixels & 0xFFFFFF)


def test_few_colours_go_as_palette_images_to_clients_that_decode_lz4() -> None:
    """Unless the setting says LZ4; never to spice-html5 (no LZ4: no LZ palette either);
    photographs still go as QUIC, and many-coloured text as LZ4."""
    y, x = np.mgrid[0:40, 0:60]
    glyphs = (x // 3 + y // 5) % 7
    text = np.choose(np.minimum(glyphs, 2), [0x202020, 0xF0F0F0, 0x3060C0]).astype(np.uint32)
    many = text.copy()
    many[0, :] = np.arange(60)  # 63 colours...
    many[1:6, :] = 0x010000 * np.arange(1, 6)[:, None] + np.arange(60)  # ...and 300 more

    def kind(pixels: np.ndarray, setting: ImageCompression, lz4: bool = True) -> ImageKind:
        return choose_image(pixels, image_policy(setting, None, "never", lz4))

    assert kind(text, ImageCompression.AUTO_GLZ) is ImageKind.LZ_PALETTE
    assert kind(text, ImageCompression.LZ) is ImageKind.LZ_PALETTE
    assert kind(text, ImageCompression.LZ4) is ImageKind.LZ4
    assert kind(text, ImageCompression.AUTO_GLZ, lz4=False) is ImageKind.QUIC
    assert kind(text, ImageCompression.OFF) is ImageKind.BITMAP
    assert kind(many, ImageCompression.AUTO_GLZ) is ImageKind.LZ4
    photo = np.ascontiguousarray(landscape(120, 80), dtype=np.uint32)
    assert kind(photo, ImageCompression.AUTO_GLZ) is ImageKind.QUIC
