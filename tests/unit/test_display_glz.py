"""GLZ on the display channel (fake transport and time): who gets it, that the client can
decode every image in the order it arrives (the decoder written from the format keeps a
client's window), and that every image coded reaches the client, in order, once."""

from __future__ import annotations

import numpy as np
from glz_decoder import Window
from test_channel_display import GTK_CAPS, HTML5_CAPS, ack_all

from spice_server.channels.display import DisplayChannel
from spice_server.channels.display.glz import MAX_WINDOW_PIXELS, TABLE_BYTES
from spice_server.channels.session import Session
from spice_server.interfaces.display import Display
from spice_server.protocol.constants import ImageCompression, ImageType
from spice_server.protocol.messages.display import MsgcDisplayInit, MsgDisplayDrawCopy
from spice_server.protocol.messages.images import unpack_image
from spice_server.protocol.rect import Rect

from fakes import FakeContext, link

BACKGROUND = 0xF8F8F0
WINDOW = 3 * 1024 * 1024  # pixels: spice-gtk's 12 MB
WINDOW_HELD = MAX_WINDOW_PIXELS * 4 + TABLE_BYTES  # what the server holds for it


def tiles(width: int, height: int, seed: int, side: int = 8) -> np.ndarray:
    """Flat tiles of random colours, ``side`` pixels square: past a palette (given 257
    tiles), not photographic (LZ4's)."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 1 << 24, (height // side + 1, width // side + 1))
    grown = np.repeat(np.repeat(colours, side, axis=0), side, axis=1)
    return grown[:height, :width].astype(np.uint32)


def setup(
    caps: frozenset[int] = GTK_CAPS,
    window: int = WINDOW,
    compression: ImageCompression = ImageCompression.AUTO_GLZ,
    session: Session | None = None,
):
    context = FakeContext(image_compression=compression)
    display = Display(512, 384)
    display.update(np.full((384, 512), BACKGROUND, dtype=np.uint32))
    channel = DisplayChannel(context, display)
    client, transport = link(channel, caps=caps, session=session)
    transport.feed(MsgcDisplayInit(1, 0, 1, window))
    settle(context, channel, transport)
    return context, display, channel, client, transport


def settle(context, channel, transport) -> list[MsgDisplayDrawCopy]:
    """The first screen sent whole (in bands, over some turns): its draws."""
    for _ in range(10):
        channel.distribute()
        ack_all(transport)
        context.core.advance(0.02)
    return transport.take_of(MsgDisplayDrawCopy)


def shown(display, channel, transport, pixels: np.ndarray, left: int, top: int) -> list:
    display.update(pixels, left, top, diff=False)
    channel.distribute()
    ack_all(transport)
    return transport.take_of(MsgDisplayDrawCopy)


def glz_streams(draws: list[MsgDisplayDrawCopy]) -> list[tuple[Rect, bytes]]:
    """The GLZ draws' boxes and streams, in order."""
    found = []
    for draw in draws:
        image = unpack_image(draw.image)
        if image.type == ImageType.GLZ_RGB:
            found.append((draw.box, image.payload[4:]))
    return found


def test_a_gtk_client_with_a_window_gets_glz_that_copies_from_what_it_keeps() -> None:
    _context, display, channel, _client, transport = setup()
    window = Window()
    first = tiles(200, 90, 1)
    for pixels, left, top in ((first, 300, 5), (tiles(200, 100, 2), 10, 200), (first, 20, 110)):
        draws = shown(display, channel, transport, pixels, left, top)
        ((box, stream),) = glz_streams(draws)
        assert box == Rect.from_size(left, top, 200, pixels.shape[0])
        assert np.array_equal(window.decode(stream), pixels)
    assert window.decoded == [0, 1, 2]
    assert len(stream) < first.size // 20  # copied from the first: a few bytes a row


def test_no_glz_without_a_window_for_spice_html5_or_under_other_settings() -> None:
    for caps, window, compression in (
        (GTK_CAPS, 0, ImageCompression.AUTO_GLZ),  # the client keeps no window
        (HTML5_CAPS, WINDOW, ImageCompression.AUTO_GLZ),  # no LZ4: spice-html5
        (GTK_CAPS, WINDOW, ImageCompression.AUTO_LZ),
    ):
        _context, display, channel, client, transport = setup(caps, window, compression)
        draws = shown(display, channel, transport, tiles(200, 90, 1), 300, 5)
        assert draws and glz_streams(draws) == []
        assert client.images["glz"] == 0


def test_an_echo_beside_an_image_coded_off_the_loop_goes_as_lz4_and_ids_keep_their_order() -> None:
    """A GLZ image on the encoder threads: no other is begun until it is sent (an echo
    meanwhile goes as LZ4), or a later id could reach the client first."""
    context, display, channel, _client, transport = setup()
    context.offload_at_once = False
    display.update(tiles(256, 256, 1), 0, 0, diff=False)  # 64 kpixel: off the loop
    channel.distribute()
    assert transport.take_of(MsgDisplayDrawCopy) == []
    echo = tiles(100, 100, 2, side=4)  # 625 colours: it would go as LZ4, or GLZ
    echo_draws = shown(display, channel, transport, echo, 400, 270)
    assert [unpack_image(d.image).type for d in echo_draws] == [ImageType.LZ4]
    context.finish_offloaded()
    ack_all(transport)
    later = shown(display, channel, transport, tiles(100, 100, 3, side=4), 300, 270)
    window = Window()
    for _box, stream in glz_streams(transport.take_of(MsgDisplayDrawCopy) + later):
        window.decode(stream)
    assert window.decoded == [0, 1]  # the offloaded image's, then the next one's


def test_an_image_coded_for_a_surface_gone_meanwhile_goes_as_a_draw_of_nothing() -> None:
    """The client's window must get every id: an image no longer wanted when its encode
    is done still goes, in a draw of no pixels (spice-gtk decodes its image all the
    same). The surface cannot change while a still is coded today (the pump waits for
    it); the client's generation is moved by hand, as a later change might."""
    context, display, channel, client, transport = setup()
    context.offload_at_once = False
    display.update(tiles(256, 256, 1), 0, 0, diff=False)
    channel.distribute()
    client._generation = -1  # the surface the encode began for is gone
    context.finish_offloaded()
    draws = transport.take_of(MsgDisplayDrawCopy)
    assert draws[0].box == Rect(0, 0, 0, 0)
    # Then the new surface's whole screen, whose image the client decodes after it.
    assert [box for box, _ in glz_streams(draws)] == [Rect(0, 0, 0, 0), Rect(0, 0, 512, 384)]
    window = Window()
    for _box, stream in glz_streams(draws):
        window.decode(stream)
    assert window.decoded == [0, 1]


def test_the_ids_go_on_in_the_next_display_client_of_the_session() -> None:
    """spice-gtk's window is the session's: a display channel linked again in the same
    session goes on from the id after the last one sent."""
    session = Session(0x4321)
    context, display, channel, client, transport = setup(session=session)
    for seed in range(3):
        shown(display, channel, transport, tiles(200, 90, seed), 10 * seed, 5)
    assert session.glz_next_id == 3 and session.glz_user is client._glz
    client.close("gone")
    assert session.glz_user is None
    again, again_transport = link(channel, caps=GTK_CAPS, session=session)
    again_transport.feed(MsgcDisplayInit(1, 0, 1, WINDOW))
    draws = settle(context, channel, again_transport)  # the screen: GLZ too (no cache)
    draws += shown(display, channel, again_transport, tiles(200, 90, 7), 200, 200)
    window = Window()
    for _box, stream in glz_streams(draws):
        window.decode(stream)
    assert window.decoded == [3, 4]
    assert session.glz_user is again._glz


def test_one_display_of_a_session_at_a_time_keeps_a_window() -> None:
    """Two displays (two display channels) share the client's one window: the second
    goes without GLZ while the first has it, or their ids would clash."""
    session = Session(0x4321)
    context, _display, _channel, client, _transport = setup(session=session)
    other = Display(320, 200, display_id=1)
    other_channel = DisplayChannel(context, other)
    second, second_transport = link(other_channel, caps=GTK_CAPS, session=session)
    second_transport.feed(MsgcDisplayInit(1, 0, 1, WINDOW))
    settle(context, other_channel, second_transport)
    assert session.glz_user is client._glz and second._glz.dictionary is None
    draws = shown(other, other_channel, second_transport, tiles(200, 90, 1), 10, 10)
    assert draws and glz_streams(draws) == []


def test_windows_take_from_the_display_budget_and_give_back_when_their_client_goes() -> None:
    """A window costs up to 9.5 MB here: a display's clients' windows count against
    the budget of the screens they keep, so that many clients cannot make the server
    hold unbounded memory."""
    _context, display, channel, first, _transport = setup(session=Session(1))
    budget = channel._kept
    held = budget.used
    assert held >= WINDOW_HELD
    budget.limit = held + WINDOW_HELD - 1  # room for another's kept screens, not a window
    second, transport = link(channel, caps=GTK_CAPS, session=Session(2))
    transport.feed(MsgcDisplayInit(1, 0, 1, WINDOW))
    assert second._glz.dictionary is None
    draws = shown(display, channel, transport, tiles(200, 90, 1), 10, 10)
    assert draws and glz_streams(draws) == []
    first.close("gone")
    assert budget.used == held - WINDOW_HELD
    third, transport = link(channel, caps=GTK_CAPS, session=Session(3))
    transport.feed(MsgcDisplayInit(1, 0, 1, WINDOW))
    assert third._glz.dictionary is not None
