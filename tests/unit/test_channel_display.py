"""The display channel against a fake context and clock: surface, draws, streams, pacing."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from test_link import busy_link

from spice_server.channels.display import DisplayChannel
from spice_server.channels.display.cache import SNAPSHOT_STILL_S
from spice_server.channels.display.client import JPEG_LANDS_S, PUMP_SLICE_S, REFINE_AFTER_S
from spice_server.channels.main import MM_TIME_DELTA_MS
from spice_server.display.adaptation import HEADROOM, TARGET_FPS, StreamQuality
from spice_server.display.framebuffer import Damage
from spice_server.display.images import ImageKind
from spice_server.display.stamping import EARLY_MS, GUARD_MS
from spice_server.display.streams import IDLE_S, STREAK
from spice_server.display.video import DEFAULT_LEVEL
from spice_server.interfaces.display import Display
from spice_server.protocol.constants import DisplayCap, ImageCompression, ImageType, VideoCodec
from spice_server.protocol.messages.base import MsgcAck, MsgcAckSync, MsgcPong, MsgPing, MsgSetAck
from spice_server.protocol.messages.display import (
    MonitorHead,
    MsgcDisplayInit,
    MsgcDisplayStreamReport,
    MsgDisplayCopyBits,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayInvalAllPixmaps,
    MsgDisplayMark,
    MsgDisplayMonitorsConfig,
    MsgDisplayStreamActivateReport,
    MsgDisplayStreamCreate,
    MsgDisplayStreamData,
    MsgDisplayStreamDestroy,
    MsgDisplaySurfaceCreate,
    MsgDisplaySurfaceDestroy,
)
from spice_server.protocol.messages.images import BITMAP_HEADER, IMAGE_CACHE_ME, unpack_image
from spice_server.protocol.rect import Rect

from fakes import FakeContext, link

GTK_CAPS = frozenset(
    {
        DisplayCap.MONITORS_CONFIG,
        DisplayCap.LZ4_COMPRESSION,
        DisplayCap.MULTI_CODEC,
        DisplayCap.STREAM_REPORT,
        DisplayCap.CODEC_MJPEG,
        DisplayCap.CODEC_VP8,
    }
)
VP8_FIRST = (VideoCodec.VP8, VideoCodec.MJPEG)
# What spice-html5 advertises of the display channel.
HTML5_CAPS = frozenset({DisplayCap.MULTI_CODEC, DisplayCap.STREAM_REPORT, DisplayCap.CODEC_MJPEG})
AREA = Rect(16, 16, 16 + 128, 16 + 96)
rng = np.random.default_rng(7)


def setup(
    caps: frozenset[int] = GTK_CAPS,
    size: tuple[int, int] = (256, 192),
    cache: int = 0,
    **settings: object,
):
    context = FakeContext(**settings)
    display = Display(*size)
    channel = DisplayChannel(context, display)
    client, transport = link(channel, caps=caps)
    transport.feed(MsgcDisplayInit(1, cache, 1, 0))  # as spice-gtk does right after the link
    return context, display, channel, client, transport


def ack_all(transport) -> None:
    transport.feed(MsgcAckSync(1))
    for _ in range(4):
        transport.feed(MsgcAck())


def paint(context, display, channel, transport, frames: int) -> None:
    """Noise in AREA, one frame every 16 ms, the client acknowledging as it goes."""
    for _ in range(frames):
        pixels = rng.integers(0, 1 << 24, (AREA.height, AREA.width), dtype=np.uint32)
        display.update(pixels, AREA.left, AREA.top)
        channel.distribute()
        ack_all(transport)
        context.core.advance(0.016)


def test_the_surface_comes_first_then_the_whole_screen_then_mark() -> None:
    _context, _display, _channel, _client, transport = setup()
    assert transport.take() == [
        MsgSetAck(1, 100),
        MsgDisplaySurfaceCreate(0, 256, 192, 32, 1),
        MsgDisplayMonitorsConfig(transport_heads(256, 192), 1),
        MsgDisplayDrawFill(0, Rect(0, 0, 256, 192), 0),
        MsgDisplayMark(),
    ]


def test_a_client_that_did_not_ask_gets_no_monitors_config() -> None:
    """spice-html5 announces no MONITORS_CONFIG capability (and logs one it is sent)."""
    _context, _display, _channel, _client, transport = setup(
        GTK_CAPS - {DisplayCap.MONITORS_CONFIG}
    )
    assert not [m for m in transport.take() if isinstance(m, MsgDisplayMonitorsConfig)]


def primary_draws(messages: list) -> list[MsgDisplayDrawCopy]:
    """The draws on the screen, not those that keep it on a snapshot surface."""
    return [m for m in messages if isinstance(m, MsgDisplayDrawCopy) and m.surface_id == 0]


def transport_heads(width: int, height: int) -> tuple[MonitorHead, ...]:
    return (MonitorHead(0, 0, width, height),)


def test_damage_goes_as_lz_to_lz4_clients_as_quic_to_others_and_raw_if_asked() -> None:
    for caps, setting, kind in (
        (GTK_CAPS, ImageCompression.AUTO_LZ, "lz-palette"),  # 32 colours
        (GTK_CAPS, ImageCompression.LZ4, "lz4"),
        (frozenset(), ImageCompression.AUTO_LZ, "quic"),  # spice-html5's
        (frozenset(), ImageCompression.OFF, "bitmap"),
    ):
        _context, display, channel, client, transport = setup(caps, image_compression=setting)
        transport.take()
        stripes = np.tile((np.arange(32, dtype=np.uint32) + 1) * 0x010101, (8, 1))
        display.update(stripes, 10, 20)
        channel.distribute()
        (draw,) = transport.take()
        assert isinstance(draw, MsgDisplayDrawCopy) and draw.box == Rect(10, 20, 42, 28)
        assert client.images[kind] == 1


def test_photographs_go_as_quic_to_every_client_unless_compression_says_otherwise() -> None:
    y, x = np.mgrid[0:24, 0:40]
    photo = ((x * 5) << 16 | (y * 9) << 8 | rng.integers(0, 64, (24, 40))).astype(np.uint32)
    for caps, setting, kind in (
        (GTK_CAPS, ImageCompression.AUTO_LZ, ImageType.QUIC),
        (frozenset(), ImageCompression.AUTO_LZ, ImageType.QUIC),  # spice-html5's
        (GTK_CAPS, ImageCompression.QUIC, ImageType.QUIC),
        (GTK_CAPS, ImageCompression.LZ4, ImageType.LZ4),
        (frozenset(), ImageCompression.LZ4, ImageType.BITMAP),
    ):
        _context, display, channel, client, transport = setup(
            caps, image_compression=setting, jpeg_compression="never"
        )
        transport.take()
        display.update(photo, 10, 20)
        channel.distribute()
        (draw,) = transport.take()
        assert isinstance(draw, MsgDisplayDrawCopy) and draw.box == Rect(10, 20, 50, 44)
        assert unpack_image(draw.image).type == kind, (caps, setting)
        assert client.images[ImageKind(kind.name.lower()).value] == 1


def test_a_resize_destroys_and_recreates_the_surface() -> None:
    _context, display, channel, _client, transport = setup()
    transport.take()
    display.resize(128, 64)
    channel.distribute()
    messages = transport.take()
    assert messages[0] == MsgDisplaySurfaceDestroy(0)
    assert messages[1] == MsgDisplaySurfaceCreate(0, 128, 64, 32, 1)


def test_monitors_on_the_surface_go_as_heads_without_a_new_surface() -> None:
    _context, display, channel, _client, transport = setup(size=(256, 96))
    transport.take()
    display.max_monitors = 4
    display.set_monitors([Rect(0, 0, 128, 96), Rect(128, 0, 256, 96)])
    channel.distribute()
    assert transport.take() == [
        MsgDisplayMonitorsConfig((MonitorHead(0, 0, 128, 96), MonitorHead(1, 0, 128, 96, 128)), 4)
    ]
    # A head beyond the surface waits for it to grow; the surface's own head is the default.
    display.set_monitors([Rect(0, 0, 128, 96), Rect(256, 0, 384, 96)])
    channel.distribute()
    assert transport.take() == [MsgDisplayMonitorsConfig((MonitorHead(0, 0, 128, 96),), 4)]
    display.resize(384, 96)
    channel.distribute()
    messages = transport.take()
    assert messages[2] == MsgDisplayMonitorsConfig(
        (MonitorHead(0, 0, 128, 96), MonitorHead(1, 0, 128, 96, 256)), 4
    )
    display.set_monitors([])
    channel.distribute()
    assert transport.take() == [MsgDisplayMonitorsConfig((MonitorHead(0, 0, 384, 96),), 4)]


def test_an_area_changing_in_place_becomes_a_stream_stamped_ahead_of_the_client_clock() -> None:
    context, display, channel, client, transport = setup(
        streaming_video="all", video_codecs=VP8_FIRST
    )
    transport.take()
    paint(context, display, channel, transport, STREAK - 1)
    assert transport.take_of(MsgDisplayStreamCreate) == []
    paint(context, display, channel, transport, 1)
    messages = transport.take()
    (create,) = [m for m in messages if isinstance(m, MsgDisplayStreamCreate)]
    assert create.codec == VideoCodec.VP8 and create.dest == AREA  # the server's first choice here
    (activate,) = [m for m in messages if isinstance(m, MsgDisplayStreamActivateReport)]
    assert activate.stream_id == create.id
    paint(context, display, channel, transport, 3)
    frames = transport.take_of(MsgDisplayStreamData)
    assert len(frames) == 3
    # VP8 goes through spice-gtk's GStreamer path, which shows a frame once decoded: it is
    # stamped a little before it arrives (here: by the clock MAIN_INIT gave the client).
    expected = (context.clock.mm_time() - 16 - MM_TIME_DELTA_MS - EARLY_MS) & 0xFFFFFFFF
    assert frames[-1].mm_time == expected
    assert client.images["stream-vp8"] == 1


def test_a_stream_idle_for_a_second_ends_and_is_repainted_losslessly() -> None:
    context, display, channel, _client, transport = setup(streaming_video="all")
    paint(context, display, channel, transport, STREAK + 2)
    (create,) = transport.take_of(MsgDisplayStreamCreate)
    context.core.advance(IDLE_S + 0.3)
    ack_all(transport)
    messages = transport.take()
    assert messages[0] == MsgDisplayStreamDestroy(create.id)
    repaint = primary_draws(messages)  # not the snapshot that follows
    assert repaint and repaint[0].box.intersect(AREA) == repaint[0].box
    assert sum(m.box.area for m in repaint) == AREA.area  # once, for spice-gtk


def test_a_stream_ends_with_a_second_repaint_for_spice_html5() -> None:
    """spice-html5 draws a JPEG frame once it has loaded, which can be after the first
    repaint; so it gets the area again once the screen is still."""
    context, display, channel, _client, transport = setup(HTML5_CAPS, streaming_video="all")
    paint(context, display, channel, transport, STREAK + 2)
    assert transport.take_of(MsgDisplayStreamCreate)
    context.core.advance(IDLE_S + 0.3)
    ack_all(transport)
    messages = transport.take()
    repaint = primary_draws(messages)
    assert sum(m.box.area for m in repaint) == 2 * AREA.area
    # The screen is kept only after the second repaint (it may have shown a JPEG frame).
    (snapshot,) = [m for m in messages if isinstance(m, MsgDisplayDrawCopy) and m.surface_id]
    assert messages.index(snapshot) > messages.index(repaint[-1])


@pytest.mark.parametrize(
    ("websocket", "least", "most"), [(None, 0.0, 0.5), (object(), JPEG_LANDS_S - 0.02, 1.5)]
)
def test_spice_html5_gets_its_second_repaint_once_the_last_frames_surely_landed(
    websocket, least, most
) -> None:
    """Over its WebSocket, spice-html5 draws a stream's MJPEG frames once its browser has
    loaded them, which a loaded machine may take long for: the second repaint of a stream
    that ended waits JPEG_LANDS_S, not only for the screen to be still."""
    context = FakeContext(streaming_video="all")
    display = Display(256, 192)
    channel = DisplayChannel(context, display)
    _client, transport = link(channel, caps=HTML5_CAPS, websocket=websocket)
    transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    paint(context, display, channel, transport, STREAK + 2)
    assert transport.take_of(MsgDisplayStreamCreate)
    repaints: list[float] = []  # when (clock) each draw of the whole area came
    until = context.clock.now() + 5.0
    while len(repaints) < 2 and context.clock.now() < until:
        context.core.advance(0.02)
        ack_all(transport)
        draws = primary_draws(transport.take())
        repaints += [context.clock.now() for m in draws if m.box == AREA]
    assert len(repaints) == 2, repaints
    assert least <= repaints[1] - repaints[0] <= most, repaints


def test_streaming_off_never_streams() -> None:
    context, display, channel, _client, transport = setup(streaming_video="off")
    paint(context, display, channel, transport, STREAK * 2)
    assert transport.take_of(MsgDisplayStreamCreate) == []


def report(stream_id: int, stamp: int, delay: int) -> MsgcDisplayStreamReport:
    late = int(delay < 0)
    return MsgcDisplayStreamReport(stream_id, 1, stamp, stamp, 1, late, delay, 0xFFFFFFFF)


def test_an_mjpeg_frame_reported_late_moves_the_next_stamps_later() -> None:
    context, display, channel, client, transport = setup(
        streaming_video="all", video_codecs=(VideoCodec.MJPEG,)
    )
    paint(context, display, channel, transport, STREAK + 1)
    frame = transport.take_of(MsgDisplayStreamData)[-1]
    sent = context.clock.mm_time() - 16
    assert frame.mm_time == (sent - MM_TIME_DELTA_MS + GUARD_MS) & 0xFFFFFFFF
    transport.feed(report(frame.id, frame.mm_time, -30))  # it came 30 ms after its time
    paint(context, display, channel, transport, 1)
    (later,) = transport.take_of(MsgDisplayStreamData)
    lead = (later.mm_time - (context.clock.mm_time() - 16) + 2**31) % 2**32 - 2**31
    assert lead == -MM_TIME_DELTA_MS + GUARD_MS + 30 + GUARD_MS
    assert client.streams.quality.level == DEFAULT_LEVEL  # lateness is not a reason to blur


def test_frames_bigger_than_a_narrow_link_carries_lower_the_quality() -> None:
    context, display, channel, client, transport = setup(streaming_video="all")
    busy_link(context.clock, transport.link, 100_000, 0.4)  # far too little for these frames
    assert transport.link.rate == pytest.approx(100_000, rel=0.05)
    transport.pending = 0
    paint(context, display, channel, transport, STREAK + 3)
    assert client.streams.quality.level < DEFAULT_LEVEL


def test_a_client_that_cannot_decode_the_codec_gets_the_next_one() -> None:
    context, display, channel, client, transport = setup(
        streaming_video="all", video_codecs=VP8_FIRST
    )
    paint(context, display, channel, transport, STREAK + 1)
    (create,) = transport.take_of(MsgDisplayStreamCreate)
    assert create.codec == VideoCodec.VP8
    transport.feed(MsgcDisplayStreamReport(create.id, 1, 0, 0, 0, 0xFFFFFFFF, 0, 0))
    messages = transport.take()
    assert MsgDisplayStreamDestroy(create.id) in messages
    (again,) = [m for m in messages if isinstance(m, MsgDisplayStreamCreate)]
    assert again.codec == VideoCodec.MJPEG
    assert VideoCodec.VP8 in client.streams.codecs.failed


def test_clients_without_multi_codec_or_reports_get_mjpeg() -> None:
    caps = frozenset({DisplayCap.MULTI_CODEC, DisplayCap.CODEC_VP8, DisplayCap.CODEC_MJPEG})
    context, display, channel, _client, transport = setup(caps, streaming_video="all")
    paint(context, display, channel, transport, STREAK + 1)
    (create,) = transport.take_of(MsgDisplayStreamCreate)
    assert create.codec == VideoCodec.MJPEG  # no reports: it cannot say VP8 fails


def test_while_a_large_image_encodes_off_the_loop_the_client_waits_in_order() -> None:
    context, display, channel, client, transport = setup(size=(512, 256))
    transport.take()
    context.offload_at_once = False
    noise = rng.integers(0, 1 << 24, (256, 512), dtype=np.uint32)
    display.update(noise)
    channel.distribute()
    assert transport.take() == [] and not client.can_send_more()
    context.finish_offloaded()
    draws = transport.take_of(MsgDisplayDrawCopy)
    assert draws and client.can_send_more()


def test_a_codec_too_heavy_for_the_link_gives_way_to_a_leaner_one() -> None:
    context, display, channel, client, transport = setup(streaming_video="all")
    busy_link(context.clock, transport.link, 100_000, 0.4)  # MJPEG does not fit at level 0
    transport.pending = 0
    paint(context, display, channel, transport, STREAK + 30)
    creates = transport.take_of(MsgDisplayStreamCreate)
    assert [c.codec for c in creates] == [VideoCodec.MJPEG, VideoCodec.VP8]
    assert VideoCodec.MJPEG in client.streams.codecs.heavy


def test_the_first_screen_waits_a_little_for_display_init() -> None:
    context = FakeContext()
    channel = DisplayChannel(context, Display(64, 64))
    _client, transport = link(channel, caps=GTK_CAPS)
    assert [type(m) for m in transport.take()] == [MsgSetAck]
    context.core.advance(0.3)  # no DISPLAY_INIT came: the screen goes anyway
    assert MsgDisplaySurfaceCreate in [type(m) for m in transport.take()]


def test_what_shows_again_is_drawn_from_the_cached_first_screen() -> None:
    _context, display, channel, client, transport = setup(cache=10**6)
    first = rng.integers(0, 1 << 24, (192, 256), dtype=np.uint32)
    display.update(first, diff=False)
    channel.distribute()
    ack_all(transport)
    transport.take()
    for _ in range(2):  # a new surface: its first screen goes to the cache
        display.resize(256, 192, first)
        channel.distribute()
        ack_all(transport)
    messages = transport.take()
    assert messages.count(MsgDisplayInvalAllPixmaps()) == 1  # the first cached one is old
    cover = rng.integers(0, 1 << 24, (40, 60), dtype=np.uint32)
    display.update(cover, 20, 30)
    channel.distribute()
    ack_all(transport)
    transport.take()
    display.update(first[30:70, 20:80], 20, 30)  # uncovered again
    channel.distribute()
    (draw,) = transport.take_of(MsgDisplayDrawCopy)
    assert draw.box == Rect(20, 30, 80, 70) and draw.src_area == draw.box
    image = unpack_image(draw.image)
    assert image.type == ImageType.FROM_CACHE and (image.width, image.height) == (256, 192)
    assert client.images["cached"] == 1


class ClientScreen:
    """What a client sent raw pixels (image compression off) shows: it applies fills,
    bitmap draws (keeping those it is told to cache, drawing parts of them again) and
    copies; the copies' clips, as spice-gtk does, unless told to copy whole boxes, as
    spice-html5 does."""

    def __init__(self, width: int, height: int, honours_clips: bool = True) -> None:
        self.pixels = np.zeros((height, width), dtype=np.uint32)
        self.honours_clips = honours_clips
        self.cached: dict[int, np.ndarray] = {}

    def apply(self, messages: list[object]) -> None:
        for message in messages:
            match message:
                case MsgDisplayDrawFill(box=box, color=color):
                    self.pixels[box.top : box.bottom, box.left : box.right] = color
                case MsgDisplayDrawCopy(box=box, image=image, src_area=src):
                    info = unpack_image(image)
                    if info.type == ImageType.FROM_CACHE:
                        area = self.cached[info.id]
                    else:
                        assert info.type == ImageType.BITMAP
                        rows = np.frombuffer(info.payload[BITMAP_HEADER.size :], np.uint32)
                        area = rows.reshape(info.height, info.width)
                        if info.flags & IMAGE_CACHE_ME:
                            self.cached[info.id] = area
                    if src is not None:
                        area = area[src.top : src.bottom, src.left : src.right]
                    self.pixels[box.top : box.bottom, box.left : box.right] = area
                case MsgDisplayCopyBits(box=box, src_x=x, src_y=y, clip=clip):
                    dx, dy = box.left - x, box.top - y
                    moved = self.pixels.copy()
                    for part in clip if clip and self.honours_clips else (box,):
                        part = part.intersect(box)
                        self.pixels[part.top : part.bottom, part.left : part.right] = moved[
                            part.top - dy : part.bottom - dy, part.left - dx : part.right - dx
                        ]


RAW = ImageCompression.OFF  # what ClientScreen takes


def scrolling_page() -> np.ndarray:
    """Lines of random "glyphs", 16 rows apart, as a terminal shows them."""
    page = np.full((800, 200), 0x101010, dtype=np.uint32)
    for top in range(0, 800, 16):
        page[top + 2 : top + 14][rng.random((12, 200)) < 0.3] = 0xE0E0E0
    return page


def test_pixels_read_before_their_move_is_taken_are_not_moved_twice() -> None:
    # The back end writes on its own thread: a client may read pixels that already show
    # a move before the move reaches it as a copy (a real client kept stale rows).
    _context, display, channel, client, transport = setup(
        frozenset(), size=(200, 160), image_compression=RAW
    )
    screen = ClientScreen(200, 160)
    page = scrolling_page()
    display.update(page[:160])
    channel.distribute()
    screen.apply(transport.take())
    for step in range(1, 6):
        display.update(page[16 * step : 16 * step + 160])  # scrolled: a move, and a new line
        stale = Damage(0, [Rect(0, 0, 200, 160)], 0, display.framebuffer.changes)
        client.damage(stale, [])  # sent before the move is taken
        client.pump()
        channel.distribute()
        ack_all(transport)
        screen.apply(transport.take())
        assert client.images["copy"] >= 1
        np.testing.assert_array_equal(screen.pixels, display.framebuffer.snapshot())


def test_a_whole_screen_that_already_shows_a_move_skips_its_copy() -> None:
    _context, display, channel, _client, _transport = setup(
        frozenset(), size=(200, 160), image_compression=RAW
    )
    page = scrolling_page()
    display.update(page[:160])
    channel.distribute()
    display.update(page[16:176])  # a move, not yet taken when a second client links
    second, second_transport = link(channel, caps=frozenset())
    second_transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    screen = ClientScreen(200, 160)
    screen.apply(second_transport.take())  # the whole screen, which shows the move
    display.update(page[32:192])  # another move, after it
    channel.distribute()
    ack_all(second_transport)
    screen.apply(second_transport.take())
    assert second.images["copy"] == 1  # the second move only
    np.testing.assert_array_equal(screen.pixels, display.framebuffer.snapshot())


def test_a_client_linking_after_moves_draws_what_changes_next() -> None:
    context = FakeContext(image_compression=RAW)
    display = Display(200, 160)
    channel = DisplayChannel(context, display)
    page = scrolling_page()
    for step in range(3):  # moves before any client: nobody takes them one by one
        display.update(page[16 * step : 16 * step + 160])
        channel.distribute()
    client, transport = link(channel, caps=frozenset())
    transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    screen = ClientScreen(200, 160)
    screen.apply(transport.take())
    display.fill(10, 10, 20, 20, 0xFF0000)
    channel.distribute()
    screen.apply(transport.take())
    assert client.images["fill"] == 1
    np.testing.assert_array_equal(screen.pixels, display.framebuffer.snapshot())


def test_content_shown_again_elsewhere_is_drawn_from_the_cached_first_screen() -> None:
    """A map panned back over country seen first, a page scrolled back: drawn from the
    client's cached first screen at the place the copies moved it to; and where content
    came back with no copy to follow, found by a search near where it was."""
    context, display, channel, client, transport = setup(
        cache=10**6, image_compression=RAW, streaming_video="off"
    )
    screen = ClientScreen(256, 192)
    world = rng.integers(0, 1 << 24, (300, 400), dtype=np.uint32)

    def show(x: int, y: int, pixels: np.ndarray | None = None) -> list[object]:
        context.core.advance(0.1)
        display.update(world[y : y + 192, x : x + 256] if pixels is None else pixels, diff=True)
        channel.distribute()
        for _ in range(4):
            ack_all(transport)
        messages = transport.take()
        screen.apply(messages)
        assert np.array_equal(screen.pixels, display.framebuffer.snapshot())
        return messages

    for _ in range(2):  # a new surface: its first screen goes to the cache
        display.resize(256, 192, world[50:242, 60:316])
        channel.distribute()
        ack_all(transport)
    screen.apply(transport.take())
    for step in range(1, 7):  # away: what comes in at the right was never shown
        show(60 + 8 * step, 50)
    assert client.images["copy"] == 6 and client.images["cached"] == 0
    for step in range(5, 0, -1):  # back: what comes in at the left was, moved
        show(60 + 8 * step, 50)
    assert client.images["copy"] == 11 and client.images["cached"] == 5
    show(0, 0, rng.integers(0, 1 << 24, (192, 256), dtype=np.uint32))  # something else
    messages = show(80, 62)  # back over the first screen's country, moved by (-20, -12)
    assert client.images["copy"] == 11 and client.images["cached"] == 6
    (draw,) = [m for m in messages if isinstance(m, MsgDisplayDrawCopy) and m.src_area]
    assert unpack_image(draw.image).type == ImageType.FROM_CACHE
    assert draw.src_area == draw.box.translated(20, 12)


def test_parts_that_differ_from_the_cached_screen_are_sent_once() -> None:
    """The bands between cached runs once went back to the dirty region, where merging
    with their neighbours brought back rows already drawn: drawn again without end."""
    _context, display, channel, client, transport = setup(cache=10**6)
    first = rng.integers(0, 1 << 24, (192, 256), dtype=np.uint32)
    for _ in range(2):  # a new surface: its first screen goes to the cache
        display.resize(256, 192, first)
        channel.distribute()
        ack_all(transport)
    transport.take()
    covered = first.copy()
    covered[10:170, 10:200] = rng.integers(0, 1 << 24, (160, 190), dtype=np.uint32)
    display.update(covered, diff=True)
    channel.distribute()
    ack_all(transport)
    transport.take()
    now = covered.copy()
    now[10:170, 10:200] += 1  # changed again, but for two runs uncovered as they were
    now[40:60, 10:200] = first[40:60, 10:200]
    now[100:130, 10:200] = first[100:130, 10:200]
    now[5:8, 210:250] += 1  # a neighbour in the dirty region
    client._dirty.max_rects = 2  # a busy screen: the region merges what comes back to it
    display.update(now, diff=True)
    channel.distribute()
    for _ in range(20):
        ack_all(transport)
    draws = transport.take_of(MsgDisplayDrawCopy)
    assert client.images["cached"] == 2
    assert len(draws) < 12
    assert np.array_equal(display.framebuffer.read(Rect(0, 0, 256, 192))[1], now)


def test_a_60_fps_stream_ends_soon_after_its_last_frame_and_a_slow_one_waits() -> None:
    context, display, channel, _client, transport = setup(streaming_video="all")
    paint(context, display, channel, transport, STREAK + 8)  # every 16 ms
    assert transport.take_of(MsgDisplayStreamCreate)
    context.core.advance(0.15)
    assert transport.take_of(MsgDisplayStreamDestroy) == []
    context.core.advance(0.1)  # ten of its frame intervals, at least 0.2 s, have passed
    assert len(transport.take_of(MsgDisplayStreamDestroy)) == 1

    context, display, channel, _client, transport = setup(streaming_video="all")
    for _ in range(STREAK + 4):  # 8 frames a second: still a stream, not ended in between
        pixels = rng.integers(0, 1 << 24, (AREA.height, AREA.width), dtype=np.uint32)
        display.update(pixels, AREA.left, AREA.top)
        channel.distribute()
        ack_all(transport)
        context.core.advance(0.125)
    assert len(transport.take_of(MsgDisplayStreamCreate)) == 1
    assert transport.take_of(MsgDisplayStreamDestroy) == []


def test_damage_a_new_client_was_sent_in_its_first_screen_is_not_sent_again() -> None:
    context = FakeContext()
    display = Display(200, 160)
    channel = DisplayChannel(context, display)
    display.update(scrolling_page()[:160])  # before any client: damage nobody took
    _client, transport = link(channel, caps=frozenset())
    transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    transport.take()
    channel.distribute()  # the old damage arrives after the whole screen went
    ack_all(transport)
    assert transport.take_of(MsgDisplayDrawCopy) == []
    display.fill(10, 10, 20, 20, 0xFF0000)  # a later change still goes
    channel.distribute()
    assert len(transport.take_of(MsgDisplayDrawFill)) == 1


def test_what_the_client_has_not_confirmed_counts_against_the_budget() -> None:
    """A proxy or router that acknowledges TCP for the client hides a queue from the
    socket: the display counts as on its way everything written after the last ping the
    client answered, and sends more only once a PONG confirms enough arrived."""
    context, display, channel, _client, transport = setup()
    busy_link(context.clock, transport.link, 2_500_000, 0.4)  # measured while held back
    budget = transport.link.budget()
    assert budget == pytest.approx(2_500_000 * 0.04 + 25_000, rel=0.02)  # + a confirmation

    def frame() -> list:
        display.update(rng.integers(0, 1 << 24, (192, 256), dtype=np.uint32))  # 196 kB raw
        channel.distribute()
        ack_all(transport)
        return transport.take(pings=True)

    def answer(messages: list) -> None:
        for ping in [m for m in messages if isinstance(m, MsgPing)]:
            transport.feed(MsgcPong(ping.id, ping.timestamp))

    answer(transport.take(pings=True))  # the first screen arrived
    first = frame()
    assert any(isinstance(m, MsgDisplayDrawCopy) for m in first)
    assert transport.unconfirmed() > budget  # the socket took it all: nothing is pending
    assert transport.in_flight() == 0
    assert not any(isinstance(m, MsgDisplayDrawCopy) for m in frame())  # held back
    answer(first)  # the client has the first frame
    context.core.advance(0.05)
    assert any(isinstance(m, MsgDisplayDrawCopy) for m in transport.take())


def test_bytes_written_outside_a_pump_are_followed_by_a_ping() -> None:
    """A large image encoded off the loop is written when it is done, outside any pump;
    the pump after it pings, else those bytes would count as on their way for good."""
    context, display, channel, _client, transport = setup(size=(512, 256))
    transport.take()
    context.offload_at_once = False
    display.update(rng.integers(0, 1 << 24, (256, 512), dtype=np.uint32))
    channel.distribute()
    pings = [m for m in transport.take(pings=True) if isinstance(m, MsgPing)]
    context.finish_offloaded()
    after = transport.take(pings=True)
    assert any(isinstance(m, MsgDisplayDrawCopy) for m in after)
    assert isinstance(after[-1], MsgPing) and after[-1] not in pings
    transport.feed(MsgcPong(after[-1].id, after[-1].timestamp))
    assert transport.unconfirmed() == 0


def test_on_a_link_measured_slow_photographs_go_as_jpeg_and_are_refined_later() -> None:
    """Below 10 Mbit/s (libspice's "low bandwidth") a photograph costs a tenth of its
    lossless bytes as JPEG, even while the link has room; once the screen is still the
    area is sent again losslessly. A fast link gets it losslessly at once."""
    y, x = np.mgrid[0:64, 0:96]
    photo = ((x * 2) << 16 | (y * 3) << 8 | rng.integers(0, 64, (64, 96))).astype(np.uint32)
    for rate, first in ((600_000, ImageType.JPEG), (5_000_000, ImageType.QUIC)):
        context, display, channel, _client, transport = setup()
        busy_link(context.clock, transport.link, rate, 0.4, rtt=0.080)  # held back
        context.clock.time += 2  # long after: the link is not full now
        transport.take()
        display.update(photo, 10, 20)
        channel.distribute()
        (draw,) = transport.take()
        assert unpack_image(draw.image).type == first, rate
        context.core.advance(0.5)  # still: what went as JPEG is refined
        refined = primary_draws(transport.take())  # not a snapshot of the exact screen
        if first == ImageType.JPEG:
            assert [unpack_image(d.image).type for d in refined] == [ImageType.QUIC]
        else:
            assert refined == []


def photograph_on_a_slow_link():
    """A client on a link measured at 600 kB/s, and a photograph just sent to it as JPEG
    (at 10, 20, 96x64), to be repainted losslessly later."""
    y, x = np.mgrid[0:64, 0:96]
    photo = ((x * 2) << 16 | (y * 3) << 8 | rng.integers(0, 64, (64, 96))).astype(np.uint32)
    context, display, channel, _client, transport = setup()
    busy_link(context.clock, transport.link, 600_000, 0.4, rtt=0.080)
    context.clock.time += 2
    transport.take()
    display.update(photo, 10, 20)
    channel.distribute()
    (draw,) = transport.take_of(MsgDisplayDrawCopy)
    assert unpack_image(draw.image).type == ImageType.JPEG
    return context, display, channel, transport


@pytest.mark.parametrize("size", [(16, 8), (6, 240)], ids=["glyph", "thin line"])
def test_typing_elsewhere_does_not_hold_the_lossless_repaint_back(size) -> None:
    """The screen counts as still through echoes: keys typed every 0.05 s beside a
    photograph sent as JPEG kept its lossless repaint from starting for as long as they
    came; it starts REFINE_AFTER_S after the last change that could go as JPEG. A line
    too thin for JPEG's blocks (a progress bar, a ticker) is no such change either."""
    context, display, channel, transport = photograph_on_a_slow_link()
    refined: list[ImageType] = []
    for key in range(10):  # a glyph echoed every 0.05 s in the terminal beside the photograph
        glyph = np.full(size, 0xFFFFFF if key % 2 else 0x202020, dtype=np.uint32)
        display.update(glyph, 150 + 8 * key if size[1] < 100 else 8, 120)
        channel.distribute()
        context.core.advance(0.05)
        ack_all(transport)
        refined += [
            unpack_image(d.image).type
            for d in transport.take_of(MsgDisplayDrawCopy)
            if d.box.intersect(Rect(10, 20, 106, 84)) == d.box
        ]
    assert refined == [ImageType.QUIC]


def test_a_screen_refined_late_is_kept_once_still_since_its_change() -> None:
    """On a slow link a raised window goes as JPEG and its lossless repaint follows; the
    screen counts as settled from the change, not from the repaint. Counted from the
    repaint, a window raised twice a second at 5 Mbit/s was never kept: each raise went
    as JPEG and losslessly again (105 kB), where a kept screen draws it in 80 bytes."""
    context, _display, _channel, transport = photograph_on_a_slow_link()
    changed = context.clock.now()
    refined_at = kept_at = None
    while kept_at is None and context.clock.now() < changed + 1:
        context.core.advance(0.01)
        ack_all(transport)
        messages = transport.take()
        if primary_draws(messages):
            refined_at = context.clock.now()
        if any(isinstance(m, MsgDisplayDrawCopy) and m.surface_id for m in messages):
            kept_at = context.clock.now()
    assert refined_at is not None and kept_at is not None
    assert refined_at - changed >= REFINE_AFTER_S
    assert kept_at - changed == pytest.approx(SNAPSHOT_STILL_S, abs=0.015)


def test_on_a_slow_link_a_lossless_refinement_goes_in_draws_within_the_budget() -> None:
    """Several draws on their way at once keep a slow link busy; one draw larger than the
    budget went alone, and the link idled a round trip after each (a 5 Mbit/s refinement
    took twice its bytes' time). A JPEG draw, a tenth of the size, is not cut."""
    context, display, channel, _client, transport = setup()
    busy_link(context.clock, transport.link, 600_000, 0.4, rtt=0.080)
    context.clock.time += 2
    transport.take()
    y, x = np.mgrid[0:192, 0:256]
    photo = (x << 16 | (y + x // 2) << 8 | rng.integers(0, 64, (192, 256))).astype(np.uint32)
    display.update(photo)
    channel.distribute()
    (jpeg,) = transport.take_of(MsgDisplayDrawCopy)
    assert unpack_image(jpeg.image).type == ImageType.JPEG and jpeg.box.height == 192
    refined: list[MsgDisplayDrawCopy] = []
    for _ in range(30):
        context.core.advance(0.05)
        ack_all(transport)
        messages = transport.take(pings=True)
        refined += primary_draws(messages)
        for ping in [m for m in messages if isinstance(m, MsgPing)]:
            transport.feed(MsgcPong(ping.id, ping.timestamp))
    assert {unpack_image(d.image).type for d in refined} == {ImageType.QUIC}
    assert len(refined) >= 3
    # The budget: 600 kB/s over 100 ms, and one confirmation's bytes (58 to 71 kB here).
    assert all(d.box.width * d.box.height * 4 <= 80_000 for d in refined)
    heights = [d.box.height for d in refined]
    assert min(heights) >= max(heights) // 2, heights  # equal bands, no sliver at the end
    assert sum(d.box.width * d.box.height for d in refined) == 192 * 256


def test_a_large_area_goes_in_bands_of_equal_height_without_a_sliver() -> None:
    """194 rows at 64 rows a band were 64, 64, 64 and a 2-row sliver, judged alone: a
    flat bar at the bottom of a photograph went as raw pixels to spice-html5."""
    _context, display, channel, _client, transport = setup(size=(1024, 194))
    transport.take()
    y, x = np.mgrid[0:194, 0:1024]
    photo = (x << 16 | (y + x // 2) << 8 | rng.integers(0, 64, (194, 1024))).astype(np.uint32)
    photo[-2:] = 0x101010  # a bar along the bottom
    display.update(photo)
    channel.distribute()
    for _ in range(10):
        ack_all(transport)
    heights = [d.box.height for d in transport.take_of(MsgDisplayDrawCopy)]
    assert sum(heights) == 194 and max(heights) - min(heights) <= 1, heights


def test_a_pump_gives_the_loop_back_after_its_slice_and_goes_on_in_the_next_turn() -> None:
    """Under a flooding terminal one pump encoded and sent the terminal's bands for 15 ms
    of the loop at once, while a capture (and the echo in it) waited. A pump stops once
    it has worked PUMP_SLICE_S and goes on in the next turn of the loop, as the same
    burst. (Bands this small are encoded on the loop; larger ones off it, one a turn.)"""
    context, display, channel, client, transport = setup(size=(480, 768))
    transport.take()
    y, x = np.mgrid[0:768, 0:480]
    display.update((((x // 4 ^ y // 4) & 7) * 0x1F2F3F).astype(np.uint32))  # text-like
    send_rect = client._send_rect

    def costly_send_rect(*args: object, **kwargs: object) -> None:
        context.clock.time += PUMP_SLICE_S * 0.4  # each band takes 40 % of a slice
        send_rect(*args, **kwargs)

    client._send_rect = costly_send_rect
    bursts: list[float] = []  # when the burst each image is part of began
    encoder = client.stills.encoder
    client.stills.encoder = lambda kind, began: bursts.append(began) or encoder(kind, began)
    channel.distribute()
    turns = [len(transport.take_of(MsgDisplayDrawCopy))]
    while sum(turns) < 6 and len(turns) < 20:
        context.core.advance(0)  # the next turn of the loop: due timers fire
        turns.append(len(transport.take_of(MsgDisplayDrawCopy)))
    assert sum(turns) == 6, turns  # 768 rows in bands of 128
    assert max(turns) <= 3, turns
    # One burst across the turns: LZ4 turns to its fast mode once it has run a while.
    assert len(bursts) == 6 and len(set(bursts)) == 1, bursts


def test_a_video_larger_than_a_draw_goes_whole_as_jpeg_other_content_in_bands() -> None:
    """A video's frame went in bands, read one after the other: they showed different
    frames, and spice-HTML5_CAPS, which draws each JPEG once loaded, drew them in any order.
    An area that keeps changing goes whole as JPEG, even beyond the link's budget (its
    stream frames will too); a photograph shown once goes in bands (its top shows first),
    and so does what goes losslessly."""
    context, display, channel, _client, transport = setup(size=(640, 480))
    busy_link(context.clock, transport.link, 600_000, 0.4, rtt=0.080)  # slow: JPEG
    context.clock.time += 2
    transport.take()
    assert transport.link.budget() * 10 < 560 * 400 * 4  # its JPEG: beyond the budget
    y, x = np.mgrid[0:400, 0:560]

    def photo(height: int, width: int) -> np.ndarray:
        noise = rng.integers(0, 64, (400, 560))
        return ((x % 256) << 16 | (y % 256) << 8 | noise).astype(np.uint32)[:height, :width]

    def text(height: int, width: int) -> np.ndarray:
        glyphs = np.where((x // 3 + y // 5 + rng.integers(0, 7)) % 7 == 0, 0x202020, 0xF0F0F0)
        return glyphs.astype(np.uint32)[:height, :width]

    for content, kind, size in (
        (photo, ImageType.JPEG, (300, 400)),
        (text, ImageType.LZ_PLT, (300, 400)),
        (photo, ImageType.JPEG, (400, 560)),
    ):
        counts = []
        context.core.advance(0.25)  # the case before, still: no region changing here now
        ack_all(transport)
        transport.take()  # (its lossless repaint)
        for _ in range(3):  # three frames, 0.05 s apart
            pixels = content(*size)
            display.update(pixels, 40, 60)
            channel.distribute()
            for _ in range(10):
                ack_all(transport)
            draws = transport.take_of(MsgDisplayDrawCopy)
            assert {ImageType(unpack_image(d.image).type) for d in draws} == {kind}
            assert sum(d.box.area for d in draws) == pixels.size
            counts.append(len(draws))
            context.core.advance(0.05)
        whole = kind is ImageType.JPEG
        assert counts[0] > 1 and (counts[1:] == [1, 1]) == whole, (kind, size, counts)


def budget_spent(size: tuple[int, int] = (256, 192)):
    """A client whose link's budget (100 kB, at 2.5 MB/s) is spent on frames it has not
    confirmed yet."""
    context, display, channel, _client, transport = setup(size=size)
    busy_link(context.clock, transport.link, 2_500_000, 0.4)
    budget = transport.link.budget()
    transport.take()
    transport.confirm(transport.sent)
    transport.sent += budget + 1000
    return display, channel, transport


def test_a_small_change_goes_while_frames_fill_the_budget() -> None:
    """An echo may use up to twice the budget: it does not wait behind the frames that
    fill the link; a large change waits for room."""
    display, channel, transport = budget_spent()
    display.update(rng.integers(0, 1 << 24, (20, 20), dtype=np.uint32), 5, 5)  # an echo
    channel.distribute()
    assert [d.box for d in transport.take_of(MsgDisplayDrawCopy)] == [Rect(5, 5, 25, 25)]
    display.update(rng.integers(0, 1 << 24, (150, 200), dtype=np.uint32), 30, 30)
    channel.distribute()
    assert transport.take_of(MsgDisplayDrawCopy) == []  # too large to jump the queue


def test_an_echo_goes_ahead_of_a_larger_change_that_waits_for_the_link() -> None:
    """A pan's edges wait for room on the link; a key's echo beside them went only once
    they had gone (the dirty area was no longer small): 15-28 ms later at 20 Mbit/s. Now
    a small change that came without a copy goes at once, within twice the budget."""
    display, channel, transport = budget_spent(size=(512, 384))
    edges = rng.integers(0, 1 << 24, (150, 200), dtype=np.uint32)
    display.update(edges, 30, 30)
    channel.distribute()
    assert transport.take_of(MsgDisplayDrawCopy) == []  # the edges wait for room
    display.update(rng.integers(0, 1 << 24, (13, 8), dtype=np.uint32), 400, 300)  # the echo
    channel.distribute()
    assert [d.box for d in transport.take_of(MsgDisplayDrawCopy)] == [Rect(400, 300, 408, 313)]
    transport.confirm(transport.sent)  # room again: the edges go, the echo not twice
    channel.distribute()
    drawn = [d.box for d in transport.take_of(MsgDisplayDrawCopy)]
    assert Rect(400, 300, 408, 313) not in drawn
    assert sum(box.area for box in drawn) == 150 * 200


def test_an_echo_leaves_before_the_changes_waiting_beside_it_are_encoded() -> None:
    """A pump sends what it produced in one go at its end; an echo that went ahead of a
    pan's edges (each a small image, encoded on the loop) waited in it for their
    encodes. Now it is handed to the socket first."""
    display, channel, transport = budget_spent(size=(512, 384))
    for top in range(0, 384, 32):  # the edges: thin strips, together not small
        display.update(rng.integers(0, 1 << 24, (3, 500), dtype=np.uint32), 0, top)
    channel.distribute()
    assert transport.take_of(MsgDisplayDrawCopy) == []  # they wait for room
    pushed: list[list[Rect]] = []
    transport.push = lambda: pushed.append([d.box for d in transport.take_of(MsgDisplayDrawCopy)])
    transport.confirm(transport.sent)  # room again, as the echo comes
    display.update(rng.integers(0, 1 << 24, (13, 8), dtype=np.uint32), 502, 300)
    channel.distribute()
    assert pushed[0] == [Rect(502, 300, 510, 313)]
    edges = [box for boxes in pushed[1:] for box in boxes] + [
        d.box for d in transport.take_of(MsgDisplayDrawCopy)
    ]
    assert sum(box.area for box in edges) == 12 * 3 * 500


def test_two_areas_moving_at_once_are_two_streams_that_end_apart() -> None:
    """Two videos far apart: a stream each (ids of their own), frames for both in turn,
    no still image inside either; the one that stops ends alone and is repainted exact."""
    context, display, channel, client, transport = setup(size=(512, 192), streaming_video="all")
    second = Rect.from_size(320, 48, 128, 96)

    def paint_both(frames: int, areas: tuple[Rect, ...] = (AREA, second)) -> None:
        for _ in range(frames):
            for area in areas:
                pixels = rng.integers(0, 1 << 24, (area.height, area.width), dtype=np.uint32)
                display.update(pixels, area.left, area.top)
            channel.distribute()
            ack_all(transport)
            context.core.advance(0.016)

    transport.take()
    paint_both(STREAK + 6)
    messages = transport.take()
    creates = [m for m in messages if isinstance(m, MsgDisplayStreamCreate)]
    assert sorted(c.dest for c in creates) == sorted([AREA, second])
    assert len({c.id for c in creates}) == 2
    after = messages[messages.index(creates[-1]) :]
    frames = [m.id for m in after if isinstance(m, MsgDisplayStreamData)]
    assert frames.count(creates[0].id) >= 5 and frames.count(creates[1].id) >= 5
    draws = [m for m in after if isinstance(m, MsgDisplayDrawCopy)]
    assert not [d for d in draws if not d.box.intersect(AREA).is_empty()]
    assert not [d for d in draws if not d.box.intersect(second).is_empty()]
    by_area = {c.dest: c.id for c in creates}
    # The first stops; the second goes on and keeps its stream.
    paint_both(30, (second,))
    messages = transport.take()
    assert [m.id for m in messages if isinstance(m, MsgDisplayStreamDestroy)] == [by_area[AREA]]
    assert not [m for m in messages if isinstance(m, MsgDisplayStreamCreate)]
    repaint = [m for m in messages if isinstance(m, MsgDisplayDrawCopy)]
    assert sum(m.box.area for m in repaint) == AREA.area
    assert all(m.box.intersect(AREA) == m.box for m in repaint)
    assert [s.rect for s in client.streams.active.values()] == [second]
    late = [m for m in messages if isinstance(m, MsgDisplayStreamData)]
    assert late and {m.id for m in late[-10:]} == {by_area[second]}


def test_spice_html5_gets_the_second_repaint_of_a_stopped_video_while_another_plays() -> None:
    """The second repaint (see above) waited for the whole screen to be still: beside a
    video playing on, a stopped one stayed as its last frames, loaded late, left it."""
    context = FakeContext(streaming_video="all")
    display = Display(512, 192)
    channel = DisplayChannel(context, display)
    _client, transport = link(channel, caps=HTML5_CAPS, websocket=object())
    transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    second = Rect.from_size(320, 48, 128, 96)
    repainted = 0  # pixels of AREA drawn since the stream over it ended
    for frame in range(STREAK + 6 + int((IDLE_S + JPEG_LANDS_S + 0.5) / 0.016)):
        for area in (AREA, second) if frame < STREAK + 6 else (second,):
            pixels = rng.integers(0, 1 << 24, (area.height, area.width), dtype=np.uint32)
            display.update(pixels, area.left, area.top)
        channel.distribute()
        ack_all(transport)
        context.core.advance(0.016)
        messages = transport.take()
        if frame >= STREAK + 6:
            repainted += sum(m.box.intersect(AREA).area for m in primary_draws(messages))
    assert repainted == 2 * AREA.area


def test_streams_share_the_link_by_their_area() -> None:
    quality = StreamQuality()
    frame = int(100_000 * HEADROOM / TARGET_FPS * 0.6)  # fits the link, not a third of it
    assert not quality.frame_sent(frame, 100_000, share=1.0)
    assert quality.level == DEFAULT_LEVEL
    assert quality.frame_sent(frame, 100_000, share=1 / 3)
    assert quality.level == DEFAULT_LEVEL - 1


def test_a_client_that_goes_away_while_streaming_is_freed_at_once() -> None:
    """A gone client and its largest holdings (the stream's encoder, the cached first
    screen) are freed by reference counting as it goes: in a cycle they stayed until one
    of the garbage collector's rare full passes, and a server seeing clients come and go
    grew by megabytes a client."""
    context, display, channel, client, transport = setup(
        cache=10**6, streaming_video="all", video_codecs=VP8_FIRST
    )
    display.resize(256, 192, rng.integers(0, 1 << 24, (192, 256), dtype=np.uint32))
    channel.distribute()  # a new surface: its first screen goes to the cache
    ack_all(transport)
    paint(context, display, channel, transport, STREAK + 2)
    assert transport.take_of(MsgDisplayStreamCreate)
    (stream,) = client.streams.active.values()
    assert len(client._cache._kept) == 1
    first_screen = client._cache._kept[0].reference
    held = [weakref.ref(thing) for thing in (client, stream.encoder, first_screen)]
    del first_screen
    del client, stream
    gc.disable()
    try:
        transport.close("the client went away")
        assert [ref() for ref in held] == [None, None, None]
    finally:
        gc.enable()


def test_only_what_went_lossy_is_refined() -> None:
    """Strips of a photograph sent as JPEG along a diagonal (the desktop a dragged window
    uncovers): the refinement repaints those, not the boxes a short list of rectangles
    merged them into (a window dragged at 5 Mbit/s had half the screen, exact already,
    sent again: still->exact took 1.3-1.7 s, now 0.5-0.65)."""
    context, display, channel, _client, transport = setup(size=(640, 480))
    busy_link(context.clock, transport.link, 600_000, 0.4, rtt=0.080)
    context.clock.time += 2
    transport.take()
    y, x = np.mgrid[0:16, 0:80]
    lossy = np.zeros((480, 640), bool)
    for n in range(25):
        left, top = 10 * n, 7 * n
        noise = rng.integers(0, 64, (16, 80))
        display.update(((x * 3 + n) << 16 | (y * 9) << 8 | noise).astype(np.uint32), left, top)
        channel.distribute()
        for draw in transport.take_of(MsgDisplayDrawCopy):
            assert unpack_image(draw.image).type == ImageType.JPEG
            box = draw.box
            lossy[box.top : box.bottom, box.left : box.right] = True
    repainted = np.zeros((480, 640), int)
    for _ in range(40):
        context.core.advance(0.05)
        ack_all(transport)
        messages = transport.take(pings=True)
        for draw in primary_draws(messages):
            box = draw.box
            repainted[box.top : box.bottom, box.left : box.right] += 1
        for ping in [m for m in messages if isinstance(m, MsgPing)]:
            transport.feed(MsgcPong(ping.id, ping.timestamp))
    assert np.all(repainted[lossy] >= 1)
    # Bands of 16 rows cover a little more than the strips, once; never boxes over them.
    assert repainted.sum() <= 1.5 * lossy.sum(), (repainted.sum(), lossy.sum())


def test_an_echo_passes_an_image_being_encoded_beside_it_but_not_one_under_it() -> None:
    """A terminal flooding beside the one typed into: its large images are encoded off
    the loop, and the echo went only once each was done. Now it goes at once, unless it
    lies under the image coming, whose older pixels would then cover it."""
    for echo_at, passes in (((400, 300), True), ((40, 40), False)):
        context, display, channel, _client, transport = setup(size=(512, 384))
        transport.take()
        context.offload_at_once = False
        display.update(rng.integers(0, 1 << 24, (256, 256), dtype=np.uint32))  # the flood
        channel.distribute()
        assert transport.take_of(MsgDisplayDrawCopy) == []  # being encoded
        display.fill(*echo_at, 8, 13, 0xFFFFFF)  # the echo
        channel.distribute()
        early = transport.take_of(MsgDisplayDrawFill)
        context.finish_offloaded()
        later = transport.take()
        if passes:
            assert [fill.box for fill in early] == [Rect.from_size(*echo_at, 8, 13)]
        else:
            assert early == []
            assert any(isinstance(m, MsgDisplayDrawFill) for m in later)
            first_fill = next(i for i, m in enumerate(later) if isinstance(m, MsgDisplayDrawFill))
            assert any(isinstance(m, MsgDisplayDrawCopy) for m in later[:first_fill])
