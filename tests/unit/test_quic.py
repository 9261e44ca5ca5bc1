"""The QUIC encoder (a C extension): stream shape, round trips through a decoder written
from the format, edge sizes, content kinds, and that it lets other threads run."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from quic_decoder import decode
from threads import ticks_during

from spice_server.display import _quic
from spice_server.display.encoding import LOSSLESS_ENCODERS, encode_quic
from spice_server.display.images import ImageKind, choose_image, image_policy
from spice_server.protocol.constants import ImageCompression, ImageType
from spice_server.protocol.messages.images import IMAGE_CACHE_ME, unpack_image

from scenery import landscape

RNG = np.random.default_rng(7)


def roundtrip(pixels: np.ndarray) -> bytes:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
    stream = _quic.encode(pixels)
    assert np.array_equal(decode(stream), pixels & 0xFFFFFF)
    return stream


def test_header_is_magic_version_rgb32_width_height_in_little_endian_words() -> None:
    stream = _quic.encode(np.zeros((3, 5), np.uint32))
    assert struct.unpack_from("<5I", stream) == (0x43495551, 0, 4, 5, 3)
    assert len(stream) % 4 == 0
    assert stream[-4:] == b"\0\0\0\0"  # the word the decoders read ahead


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (7, 5), (1, 2049), (2050, 1), (5, 4099)]
)
def test_odd_and_tiny_sizes_round_trip(shape: tuple[int, int]) -> None:
    roundtrip(RNG.integers(0, 1 << 24, shape))


def test_one_pixel_high_strips_like_a_pans_new_columns_round_trip() -> None:
    roundtrip(landscape(300, 40)[:1])
    roundtrip(landscape(40, 300)[:, 17:18])


def test_solid_image_costs_its_first_row_and_a_run_per_row() -> None:
    stream = roundtrip(np.full((64, 300), 0x336699))
    assert len(stream) < 400  # the first row has no runs: a bit per pixel and channel


def test_gradients_compress_well() -> None:
    y, x = np.mgrid[0:90, 0:333]
    gradient = (x // 2) << 16 | (y * 2) << 8 | ((x + y) // 3)
    stream = roundtrip(gradient)
    assert len(stream) < gradient.size  # under a byte per pixel


def test_noise_costs_about_its_entropy() -> None:
    noise = RNG.integers(0, 1 << 24, (40, 50))
    stream = roundtrip(noise)
    assert noise.size * 3 <= len(stream) < noise.size * 3.6


def test_runs_between_noise_and_repeats_round_trip() -> None:
    blocks = RNG.integers(0, 3, (30, 40)).repeat(3, 0).repeat(5, 1) * 0x405060
    roundtrip(blocks)
    roundtrip(blocks + RNG.integers(0, 2, blocks.shape) * (RNG.random(blocks.shape) < 0.1))


def test_the_x_byte_is_not_sent() -> None:
    pixels = RNG.integers(0, 1 << 24, (9, 11)).astype(np.uint32)
    assert _quic.encode(pixels) == _quic.encode(pixels | 0xFF000000)


def test_landscape_round_trips_and_beats_lz4_by_far() -> None:
    import lz4.block

    picture = landscape(160, 120)
    stream = roundtrip(picture)
    assert len(stream) < 0.7 * len(lz4.block.compress(picture, store_size=False))


def test_wrong_buffers_are_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="uint32"):
        _quic.encode(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint32"):
        _quic.encode(np.zeros(16, np.uint32))
    with pytest.raises(ValueError, match="0x4"):
        _quic.encode(np.zeros((4, 0), np.uint32))
    with pytest.raises(ValueError, match="contiguous"):
        _quic.encode(np.zeros((4, 6), np.uint32)[:, ::2])
    with pytest.raises(TypeError):
        _quic.encode("pixels")


def test_other_threads_run_while_it_encodes() -> None:
    picture = np.ascontiguousarray(np.tile(landscape(256, 256), (8, 8)))  # 4 Mpixel
    during = ticks_during(lambda: _quic.encode(picture))
    assert during > 100


# -- the SpiceImage and the choice ---------------------------------------------------------


def test_encode_quic_packs_a_quic_spice_image() -> None:
    picture = landscape(37, 11)
    image = unpack_image(encode_quic(picture[:, 3:34]))  # a strided view is copied first
    assert (image.type, image.flags, image.width, image.height) == (ImageType.QUIC, 0, 31, 11)
    (size,) = struct.unpack_from("<I", image.payload)
    assert size == len(image.payload) - 4
    assert np.array_equal(decode(image.payload[4:]), picture[:, 3:34])
    cached = unpack_image(encode_quic(picture, cache_id=77))
    assert (cached.id, cached.flags) == (77, IMAGE_CACHE_ME)


def policy(setting: ImageCompression, lz4: bool = True, preferred: int | None = None, **kw):
    return image_policy(setting, preferred, "never", lz4, **kw)


PHOTO = landscape(120, 80)
FONT = ImageFont.load_default(size=12)  # FreeType's rendering of Pillow's own font
TEXT = np.full((80, 120), 0x202020, dtype=np.uint32)
TEXT[np.arange(80) % 10 < 6, ::3] = 0xFFFFFF


@pytest.mark.parametrize(
    ("setting", "lz4", "photo", "text"),
    [
        (ImageCompression.AUTO_LZ, True, ImageKind.QUIC, ImageKind.LZ_PALETTE),
        (ImageCompression.AUTO_GLZ, True, ImageKind.QUIC, ImageKind.LZ_PALETTE),
        (ImageCompression.QUIC, True, ImageKind.QUIC, ImageKind.LZ_PALETTE),
        (ImageCompression.AUTO_LZ, False, ImageKind.QUIC, ImageKind.QUIC),  # spice-html5
        (ImageCompression.LZ4, True, ImageKind.LZ4, ImageKind.LZ4),
        (ImageCompression.LZ4, False, ImageKind.BITMAP, ImageKind.BITMAP),
        (ImageCompression.GLZ, True, ImageKind.LZ4, ImageKind.LZ_PALETTE),
        (ImageCompression.OFF, True, ImageKind.BITMAP, ImageKind.BITMAP),
    ],
)
def test_photos_go_as_quic_under_the_automatic_and_quic_settings(
    setting: ImageCompression, lz4: bool, photo: ImageKind, text: ImageKind
) -> None:
    """Text goes as an LZ palette image where the client decodes LZ4 (as LZ4 under the
    LZ4 setting), else as QUIC where the setting allows (its runs beat raw pixels on
    text and flat UI by far), else raw."""
    assert choose_image(PHOTO, policy(setting, lz4)) is photo
    assert choose_image(TEXT, policy(setting, lz4)) is text


def test_the_clients_preferred_compression_wins() -> None:
    assert choose_image(PHOTO, policy(ImageCompression.AUTO_LZ, preferred=7)) is ImageKind.LZ4
    assert choose_image(PHOTO, policy(ImageCompression.LZ4, preferred=4)) is ImageKind.QUIC
    assert choose_image(PHOTO, policy(ImageCompression.AUTO_LZ, preferred=1)) is ImageKind.BITMAP


def antialiased_text(width: int, height: int) -> np.ndarray:
    """Dark text on white, antialiased by FreeType: a few grey levels, edges everywhere."""
    canvas = Image.new("L", (width, height), 255)
    ImageDraw.Draw(canvas).text((0, 0), "ls -lR /usr/share/doc", font=FONT, fill=30)
    grey = np.asarray(canvas, dtype=np.uint32)
    return (grey << 16) | (grey << 8) | grey


@pytest.mark.parametrize(("width", "height"), [(8, 15), (24, 15), (48, 15), (32, 32)])
def test_a_few_glyphs_of_antialiased_text_go_losslessly_as_lz_not_quic(
    width: int, height: int
) -> None:
    """LZ4 finds few repeats in so few pixels, which looked photographic: a typed glyph
    went as QUIC at nearly twice its size. Its few colours tell it from a photograph's
    corner of the same size, which still goes as QUIC."""
    glyphs = antialiased_text(width, height)
    kind = choose_image(glyphs, policy(ImageCompression.AUTO_LZ))
    assert kind in (ImageKind.LZ_PALETTE, ImageKind.LZ4)
    assert len(LOSSLESS_ENCODERS[kind](glyphs)) < len(encode_quic(glyphs))
    corner = np.ascontiguousarray(PHOTO[:height, :width])
    assert choose_image(corner, policy(ImageCompression.AUTO_LZ)) is ImageKind.QUIC


def test_jpeg_where_allowed_and_quic_for_the_lossless_repaint_and_thin_strips() -> None:
    congested = image_policy(ImageCompression.AUTO_LZ, None, "auto", True, congested=True)
    assert choose_image(PHOTO, congested) is ImageKind.JPEG
    repaint = image_policy(
        ImageCompression.AUTO_LZ, None, "auto", True, congested=True, lossless=True
    )
    assert choose_image(PHOTO, repaint) is ImageKind.QUIC
    # A pan's new column or row: too small for JPEG, photographic all the same.
    assert choose_image(np.ascontiguousarray(PHOTO[:, :1]), congested) is ImageKind.QUIC
    assert choose_image(PHOTO[:1], congested) is ImageKind.QUIC
    # Thinner than JPEG's 16x16 blocks: lossless at once (it would be refined later);
    # a strip of a whole block goes as JPEG.
    assert choose_image(np.ascontiguousarray(PHOTO[:, :15]), congested) is ImageKind.QUIC
    assert choose_image(PHOTO[:15], congested) is ImageKind.QUIC
    assert choose_image(np.ascontiguousarray(PHOTO[:, :16]), congested) is ImageKind.JPEG


def mixed_content(seed: int) -> np.ndarray:
    """A random size (rows often crossing the update-spacing level changes, every 2048
    pixels) with flat blocks, noise, repeated rows and near-flat areas side by side."""
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(1, 40)), int(rng.integers(1, 700))
    pixels = rng.integers(0, 4, (height, width)).astype(np.uint32) * 0x030201
    for _ in range(int(rng.integers(0, 6))):
        top, left = int(rng.integers(0, height)), int(rng.integers(0, width))
        bottom, right = top + int(rng.integers(1, 20)), left + int(rng.integers(1, 300))
        patch = pixels[top:bottom, left:right]
        kind = rng.integers(0, 3)
        if kind == 0:
            patch[...] = rng.integers(0, 1 << 24)
        elif kind == 1:
            patch[...] = rng.integers(0, 1 << 24, patch.shape)
        else:
            patch[...] = patch[:1]  # rows that repeat the one above
    return pixels


@pytest.mark.parametrize("seed", range(12))
def test_mixed_content_round_trips(seed: int) -> None:
    roundtrip(mixed_content(seed))
