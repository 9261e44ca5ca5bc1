"""Which encoding each client gets: JPEG for photographs, codec choice and stream reports.

The real client shows that JPEG images decode. What spice-gtk cannot show (it always
decodes LZ4 and never fails a stream on purpose) is driven with a raw display client
whose capabilities the test picks: spice-html5's (no LZ4), a client that cannot decode
the codec it advertised, one that prefers another codec, and one that reports drops.
"""

from __future__ import annotations

import contextlib
import struct
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import simplejpeg

from spice_server import Display
from spice_server.core.clock import SystemClock
from spice_server.protocol.constants import (
    ChannelType,
    DisplayCap,
    ImageType,
    LinkError,
    MsgBase,
    MsgcBase,
    MsgDisplay,
    MsgMain,
    VideoCodec,
)
from spice_server.protocol.framing import Message
from spice_server.protocol.messages.display import (
    MsgcDisplayPreferredVideoCodecType,
    MsgcDisplayStreamReport,
    MsgDisplayDrawCopy,
    MsgDisplayStreamActivateReport,
    MsgDisplayStreamCreate,
    MsgDisplayStreamData,
)
from spice_server.protocol.messages.images import unpack_image
from spice_server.protocol.messages.main import MsgMainInit

from harness import display_images, framed_landscape, photo, wait_until
from rawclient import RawClient
from scenery import landscape

HTML5_CAPS = frozenset(
    {
        DisplayCap.SIZED_STREAM,
        DisplayCap.STREAM_REPORT,
        DisplayCap.MULTI_CODEC,
        DisplayCap.CODEC_MJPEG,
        DisplayCap.CODEC_VP8,
    }
)
ALL_CODECS = frozenset(
    {
        DisplayCap.STREAM_REPORT,
        DisplayCap.MULTI_CODEC,
        DisplayCap.CODEC_MJPEG,
        DisplayCap.CODEC_VP8,
        DisplayCap.CODEC_H264,
    }
)


def text_like(width: int = 320, height: int = 240) -> np.ndarray:
    frame = np.full((height, width), 0x303030, dtype=np.uint32)
    frame[20:40, 10:300] = 0xFFFFFF
    frame[60:64, ::3] = 0xFF8000
    return frame


def rgb(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape
    return pixels.view(np.uint8).reshape(height, width, 4)[..., 2::-1].astype(int)


class RawDisplay:
    """A display channel client over a raw socket that acks like a real one."""

    def __init__(self, port: int, caps: frozenset[int]) -> None:
        self.main = RawClient(port)
        assert self.main.link() == LinkError.OK
        init = MsgMainInit.unpack(self.main.read_until(MsgMain.INIT).body)
        self.raw = RawClient(port)
        assert self.raw.link(ChannelType.DISPLAY, 0, init.session_id, channel_caps=caps) == 0
        self.window = 0
        self.unacked = 0

    def messages(self, timeout: float = 10.0) -> Iterator[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.raw.read_message(max(0.01, deadline - time.monotonic()))
            if message.type == MsgBase.SET_ACK:
                generation, self.window = struct.unpack("<II", message.body)
                self.raw.send_message(MsgcBase.ACK_SYNC, struct.pack("<I", generation))
                continue
            self.unacked += 1
            if self.window and self.unacked >= self.window:
                self.raw.send_message(MsgcBase.ACK)
                self.unacked = 0
            yield message
        raise AssertionError("the awaited display message did not come")

    def wait(self, what: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        for message in self.messages(timeout):
            if what(message):
                return message
        raise AssertionError("unreachable")

    def draw_at(self, left: int, top: int) -> tuple[int, bytes]:
        """The image type and image of the next DRAW_COPY to the given corner."""
        message = self.wait(
            lambda m: (
                m.type == MsgDisplay.DRAW_COPY
                and (draw := MsgDisplayDrawCopy.unpack(m.body)).box.left == left
                and draw.box.top == top
            )
        )
        image = unpack_image(MsgDisplayDrawCopy.unpack(message.body).image)
        return image.type, image.payload

    def close(self) -> None:
        self.raw.close()
        self.main.close()


@pytest.fixture
def raw_display(make_harness) -> Iterator[Callable[..., tuple[Display, RawDisplay]]]:
    opened: list[RawDisplay] = []

    def make(caps: frozenset[int], **options: object) -> tuple[Display, RawDisplay]:
        harness = make_harness(**options)
        display = Display(640, 480)
        harness.call(harness.server.add_interface, display)
        client = RawDisplay(harness.port, caps)
        opened.append(client)
        client.wait(lambda m: m.type == MsgDisplay.MARK)
        return display, client

    yield make
    for client in opened:
        client.close()


def play(display: Display, frames: int, seed: int = 0) -> None:
    """Video-like changes in one place, fast enough to become a stream."""
    for i in range(frames):
        display.update(photo(seed + i), 100, 80, diff=False)
        time.sleep(1 / 30)


# -- still images ---------------------------------------------------------------------------


def test_a_client_without_lz4_gets_jpeg_for_photos_and_quic_for_text(raw_display):
    display, client = raw_display(HTML5_CAPS)
    picture = photo(5)
    display.update(picture, 100, 80, diff=False)
    kind, payload = client.draw_at(100, 80)
    assert kind == ImageType.JPEG
    (size,) = struct.unpack_from("<I", payload)
    decoded = simplejpeg.decode_jpeg(payload[4 : 4 + size], colorspace="RGB").astype(int)
    rows = decoded.shape[0]  # large areas go in bands, the top one first
    assert decoded.shape == (rows, 320, 3) and rows > 100
    assert np.abs(decoded - rgb(picture[:rows])).mean() < 10  # the grain is what JPEG drops

    text = text_like()
    display.update(text, 10, 300, diff=False)
    kind, payload = client.draw_at(10, 300)
    assert kind == ImageType.QUIC  # lossless: text is never made lossy
    assert len(payload) < text.nbytes / 2  # and QUIC's runs beat raw pixels


def test_jpeg_never_keeps_photos_lossless_as_quic(raw_display):
    display, client = raw_display(HTML5_CAPS, jpeg_compression="never")
    display.update(photo(5), 100, 80, diff=False)
    assert client.draw_at(100, 80)[0] == ImageType.QUIC


def test_jpeg_always_reaches_the_real_client(make_harness, make_client):
    harness = make_harness(jpeg_compression="always", streaming_video="off")
    display = Display(640, 480)
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    picture, text = photo(11), text_like()
    display.update(picture, 100, 80, diff=False)
    display.update(text, 100, 330, diff=False)
    wait_until(lambda: display_images(harness)["jpeg"] >= 1, what="a JPEG image")

    def shown_close_enough() -> bool:
        shown = client.framebuffer()
        photo_error = np.abs(rgb(shown[80:320, 100:420]) - rgb(picture)).mean()
        return photo_error < 10 and bool((shown[330:450, 100:420] == text[:120]).all())

    wait_until(shown_close_enough, what="the photo (lossy) and the text (exact) on screen")
    assert display_images(harness)["lz-palette"] >= 1  # the text: few colours


def test_photos_reach_spice_gtk_as_quic_exactly(make_harness, make_client):
    """Photographs that go losslessly (here JPEG is off) go as QUIC, whatever their shape,
    and spice-gtk's own decoder shows them bit for bit: the first screen (kept in its
    cache), large areas in bands, odd sizes, one-pixel strips, flat areas within a
    photograph (QUIC's runs) and a pan's new columns."""
    harness = make_harness(jpeg_compression="never", streaming_video="off")
    width, height = 1024, 768
    scenery = landscape(width + 40, height + 40)
    display = Display(width, height)
    display.update(scenery[:height, :width].copy())
    harness.call(harness.server.add_interface, display)
    client = make_client(harness.port)
    client.wait_ready()
    client.wait_framebuffer(display.snapshot())
    assert display_images(harness)["quic"] >= 1

    other, framed = landscape(width, height, seed=2), framed_landscape(width, height)
    for picture, (x, y, w, h) in [
        (other, (0, 0, width, height)),  # a whole new picture: bands of 64 rows
        (other, (101, 53, 333, 77)),  # odd sizes
        (other, (37, 500, 641, 203)),
        (other, (5, 700, 1001, 1)),  # a one-pixel-high strip
        (other, (900, 3, 1, 761)),  # a one-pixel-wide column
        (other, (500, 400, 7, 3)),  # a tiny one
        (framed, (0, 0, width, height)),  # runs of one colour within the photograph
        (framed, (101, 150, 333, 77)),
    ]:
        before = display_images(harness)["quic"]
        display.update(picture[y : y + h, x : x + w].copy(), x, y, diff=False)
        # The client may show these pixels already (the same picture): wait for the image.
        wait_until(
            lambda before=before: display_images(harness)["quic"] > before,
            what=f"QUIC {x, y, w, h}",
        )
        client.wait_framebuffer(display.snapshot())

    # A pan: the picture moves left a few columns at a time; the copy is a COPY_BITS and
    # the new columns at the right edge are QUIC.
    display.update(scenery[:height, :width].copy())
    client.wait_framebuffer(display.snapshot())
    for step in (1, 2, 5, 9):
        before = display_images(harness)
        display.update(scenery[:height, step : step + width].copy())
        client.wait_framebuffer(display.snapshot())
        after = display_images(harness)
        assert after["quic"] > before["quic"] and after["copy"] > before["copy"], after
    images = display_images(harness)
    assert images["lz4"] == images["bitmap"] == images["jpeg"] == 0, images


# -- stream codecs --------------------------------------------------------------------------


def stream_create(client: RawDisplay) -> MsgDisplayStreamCreate:
    message = client.wait(lambda m: m.type == MsgDisplay.STREAM_CREATE)
    return MsgDisplayStreamCreate.unpack(message.body)


def test_a_codec_the_client_cannot_decode_is_replaced(raw_display):
    display, client = raw_display(ALL_CODECS, video_codecs=("h264", "vp8", "mjpeg"))
    play(display, 12)
    created = stream_create(client)
    assert created.codec == VideoCodec.H264  # the server's first choice
    report = MsgDisplayStreamActivateReport.unpack(
        client.wait(lambda m: m.type == MsgDisplay.STREAM_ACTIVATE_REPORT).body
    )
    assert report.stream_id == created.id
    failure = MsgcDisplayStreamReport(created.id, report.unique_id, 0, 0, 0, 0xFFFFFFFF, 0, 0)
    client.raw.send_message(failure.TYPE, failure.pack())
    play(display, 3, seed=20)
    client.wait(lambda m: m.type == MsgDisplay.STREAM_DESTROY)
    assert stream_create(client).codec == VideoCodec.VP8


def test_the_client_preferred_codec_wins(raw_display):
    display, client = raw_display(ALL_CODECS)
    preferred = MsgcDisplayPreferredVideoCodecType((VideoCodec.MJPEG, VideoCodec.VP8))
    client.raw.send_message(preferred.TYPE, preferred.pack())
    play(display, 12)
    assert stream_create(client).codec == VideoCodec.MJPEG


def test_a_client_without_multi_codec_gets_mjpeg(raw_display):
    display, client = raw_display(frozenset({DisplayCap.STREAM_REPORT}))
    play(display, 12)
    assert stream_create(client).codec == VideoCodec.MJPEG


def test_a_late_arrival_the_client_reports_moves_the_next_stamps_later(raw_display):
    display, client = raw_display(HTML5_CAPS, video_codecs=("mjpeg",))
    picture = photo(3)

    def next_frame() -> tuple[MsgDisplayStreamData, int]:
        """The stream frame of a new update (the last to arrive within 0.2 s, so frames of
        earlier updates are passed over) and how far ahead of the server's clock it is.
        Short enough that the stream does not end meanwhile (IDLE_S)."""
        display.update(picture, 100, 80, diff=False)
        frame, lead = None, 0
        with contextlib.suppress(AssertionError, TimeoutError):  # the window is over
            for message in client.messages(timeout=0.2):
                if message.type == MsgDisplay.STREAM_DATA:
                    frame = MsgDisplayStreamData.unpack(message.body)
                    lead = (frame.mm_time - SystemClock().mm_time() + 2**31) % 2**32 - 2**31
        assert frame is not None, "no stream frame came"
        return frame, lead

    play(display, 12)
    created = stream_create(client)
    report = MsgDisplayStreamActivateReport.unpack(
        client.wait(lambda m: m.type == MsgDisplay.STREAM_ACTIVATE_REPORT).body
    )
    assert report.max_window_size == 1  # a report on every frame: each tells its arrival
    frame, lead_before = next_frame()
    # The client says this frame arrived 30 ms after its stamp (MJPEG drops such frames).
    late = MsgcDisplayStreamReport(
        created.id, report.unique_id, frame.mm_time, frame.mm_time, 1, 1, -30, 0xFFFFFFFF
    )
    client.raw.send_message(late.TYPE, late.pack())
    play(display, 6, seed=30)  # the report takes effect; the stream goes on meanwhile
    _frame, lead_after = next_frame()
    assert lead_after >= lead_before + 25, (lead_before, lead_after)
