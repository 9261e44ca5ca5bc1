"""A window over a stream, on a fake context and clock: the clip leaves it out for
spice-gtk, what is drawn in it goes as images, and spice-html5 (which draws frames whole)
keeps streams unclipped."""

from __future__ import annotations

import numpy as np
import pytest
from test_channel_display import GTK_CAPS, HTML5_CAPS, ack_all, setup

from spice_server.channels.display import DisplayChannel
from spice_server.display.streams import CLIP_FRAMES, IDLE_S, STREAK
from spice_server.interfaces.display import Display
from spice_server.protocol.messages.display import (
    MsgcDisplayInit,
    MsgDisplayDrawCopy,
    MsgDisplayDrawFill,
    MsgDisplayStreamClip,
    MsgDisplayStreamCreate,
    MsgDisplayStreamData,
    MsgDisplayStreamDestroy,
)
from spice_server.protocol.rect import Rect

from fakes import FakeContext, link

SIZE = (512, 384)
AREA = Rect.from_size(16, 16, 320, 240)  # large enough for its frames to be encoded off the loop
HOLE = Rect(AREA.left, AREA.top + 160, AREA.left + 120, AREA.bottom)  # the window's part
AROUND = (
    Rect(AREA.left, AREA.top, AREA.right, HOLE.top),
    Rect(HOLE.right, HOLE.top, AREA.right, AREA.bottom),
)
ECHO = Rect.from_size(HOLE.left + 8, HOLE.top + 8, 7, 13)
WHITE = 0xFFFFFF
rng = np.random.default_rng(11)


def play(context, display, channel, transport, frames: int, window: bool = True) -> None:
    """Video-like noise in AREA every 16 ms; with ``window``, a white window over HOLE,
    which X reports the video's drawing around (AROUND)."""
    for _ in range(frames):
        pixels = rng.integers(0, 1 << 24, (AREA.height, AREA.width), dtype=np.uint32)
        drawn: tuple[Rect, ...] = ()
        if window:
            top, left = HOLE.top - AREA.top, HOLE.left - AREA.left
            pixels[top : top + HOLE.height, left : left + HOLE.width] = WHITE
            drawn = AROUND
        display.update(pixels, AREA.left, AREA.top, drawn=drawn)
        channel.distribute()
        ack_all(transport)
        context.core.advance(0.016)


def drawn_on_screen(messages: list) -> list[MsgDisplayDrawCopy | MsgDisplayDrawFill]:
    draws = (MsgDisplayDrawCopy, MsgDisplayDrawFill)
    return [m for m in messages if isinstance(m, draws) and m.surface_id == 0]


def type_echo(context, display, channel, transport) -> None:
    display.update(np.zeros((ECHO.height, ECHO.width), np.uint32), ECHO.left, ECHO.top)
    channel.distribute()
    ack_all(transport)


@pytest.mark.parametrize("window_first", [True, False])
def test_spice_gtk_gets_a_window_over_a_stream_left_out_and_what_is_typed_there(
    window_first,
) -> None:
    """Whether the window was there when the stream began (its clip then comes after
    CLIP_FRAMES frames) or came over it later, the client is told the clip, the window's
    area is repainted losslessly after it, and a key's echo there goes as an image."""
    context, display, channel, _client, transport = setup(GTK_CAPS, SIZE, streaming_video="all")
    play(context, display, channel, transport, STREAK + 2, window=window_first)
    (create,) = transport.take_of(MsgDisplayStreamCreate)
    assert create.clip == ()
    play(context, display, channel, transport, CLIP_FRAMES + 2)
    # The repaint waits REFINE_AFTER_S for no JPEG-sized change outside streams; the
    # stream itself would end after 0.2 s without a frame.
    context.core.advance(0.12)
    ack_all(transport)
    messages = transport.take()
    (clip,) = [m for m in messages if isinstance(m, MsgDisplayStreamClip)]
    assert clip.id == create.id and set(clip.clip) == set(AROUND)
    repaint = [m for m in drawn_on_screen(messages) if messages.index(m) > messages.index(clip)]
    assert repaint and all(m.box.intersect(HOLE) == m.box for m in repaint), repaint
    assert sum(m.box.area for m in repaint) == HOLE.area
    # Typed into the window while the video plays: the echo goes as an image, at once.
    type_echo(context, display, channel, transport)
    assert [m.box for m in drawn_on_screen(transport.take())] == [ECHO]
    play(context, display, channel, transport, 3)
    messages = transport.take()
    assert len([m for m in messages if isinstance(m, MsgDisplayStreamData)]) == 3
    assert not drawn_on_screen(messages)  # the window is left as it is
    assert not [m for m in messages if isinstance(m, MsgDisplayStreamClip)]
    # The video stops: where its frames drew is repainted, the window (exact) is not.
    context.core.advance(IDLE_S + 0.3)
    ack_all(transport)
    messages = transport.take()
    assert MsgDisplayStreamDestroy(create.id) in messages
    repaint = drawn_on_screen(messages)
    assert all(m.box.intersect(HOLE).is_empty() for m in repaint), repaint
    assert sum(m.box.area for m in repaint) == AREA.area - HOLE.area


def test_a_client_linking_to_a_clipped_stream_gets_the_clip_with_it() -> None:
    context, display, channel, _client, transport = setup(GTK_CAPS, SIZE, streaming_video="all")
    play(context, display, channel, transport, STREAK + CLIP_FRAMES + 2)
    assert transport.take_of(MsgDisplayStreamClip)
    _second, later = link(channel, caps=GTK_CAPS)
    later.feed(MsgcDisplayInit(1, 0, 1, 0))
    play(context, display, channel, later, 2)
    (create,) = later.take_of(MsgDisplayStreamCreate)
    assert set(create.clip) == set(AROUND)


def test_spice_html5_draws_frames_whole_so_its_streams_stay_unclipped() -> None:
    context = FakeContext(streaming_video="all")
    display = Display(*SIZE)
    channel = DisplayChannel(context, display)
    _client, transport = link(channel, caps=HTML5_CAPS, websocket=object())
    transport.feed(MsgcDisplayInit(1, 0, 1, 0))
    play(context, display, channel, transport, STREAK + CLIP_FRAMES + 2)
    messages = transport.take()
    assert [m.clip for m in messages if isinstance(m, MsgDisplayStreamCreate)] == [()]
    assert not [m for m in messages if isinstance(m, MsgDisplayStreamClip)]
    # What is typed into the window goes with the next frame, which draws over it anyway.
    type_echo(context, display, channel, transport)
    assert not drawn_on_screen(transport.take())


def test_an_echo_in_the_window_passes_a_frame_being_encoded() -> None:
    """A frame is encoded off the loop, and only an echo beside what it draws may go
    meanwhile: one in the window over the video is (the frame does not draw there)."""
    context, display, channel, _client, transport = setup(GTK_CAPS, SIZE, streaming_video="all")
    play(context, display, channel, transport, STREAK + CLIP_FRAMES + 2)
    context.core.advance(0.12)
    ack_all(transport)
    assert transport.take_of(MsgDisplayStreamClip)
    context.offload_at_once = False
    play(context, display, channel, transport, 1)
    assert transport.take_of(MsgDisplayStreamData) == []  # being encoded
    type_echo(context, display, channel, transport)
    assert [m.box for m in drawn_on_screen(transport.take())] == [ECHO]
    context.finish_offloaded()
    assert len(transport.take_of(MsgDisplayStreamData)) == 1
