"""What every channel client does: the ack window, keep-alive pings, disconnecting, bad input.

Each test links a channel client over a fake transport on a fake context and moves the
fake clock by hand; the main and cursor channels serve as the concrete channels.
"""

from __future__ import annotations

import pytest

from spice_server.channels.base import MESSAGES_PER_TURN
from spice_server.channels.cursor import CursorChannel
from spice_server.channels.main import MainChannel
from spice_server.interfaces.display import Display
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.framing import pack_client_message
from spice_server.protocol.messages.base import (
    MsgcAck,
    MsgcAckSync,
    MsgcDisconnecting,
    MsgcPong,
    MsgDisconnecting,
    MsgPing,
    MsgSetAck,
)
from spice_server.protocol.messages.cursor import MsgCursorMove
from spice_server.protocol.messages.main import MsgcMainAttachChannels, MsgMainChannelsList

from fakes import FakeContext, link


def cursor_client(context: FakeContext):
    display = Display(64, 64)
    channel = CursorChannel(context, display)
    client, transport = link(channel)
    return display, channel, client, transport


def test_a_windowed_channel_asks_for_acks_and_stops_at_twice_the_window() -> None:
    context = FakeContext()
    display, channel, client, transport = cursor_client(context)
    first = transport.take()
    assert first[0] == MsgSetAck(1, 20)
    sent = 1  # the INIT counts too
    while client.can_send_more():
        display.move_cursor(sent, 0)
        channel.distribute()
        sent += 1
    assert sent == 40  # 2 x window unacknowledged messages
    assert len(transport.take_of(MsgCursorMove)) == 39


def test_an_ack_after_ack_sync_of_the_current_generation_reopens_the_window() -> None:
    context = FakeContext()
    _display, _channel, client, transport = cursor_client(context)
    client.pump = lambda: None  # count the window only
    for _ in range(39):
        client.send(MsgCursorMove(1, 1))
    assert not client.can_send_more()
    transport.feed(MsgcAck())  # no ACK_SYNC yet: the generation is not confirmed
    assert not client.can_send_more()
    transport.feed(MsgcAckSync(1))
    transport.feed(MsgcAck())
    assert client.can_send_more()


def test_a_full_socket_holds_production_back() -> None:
    context = FakeContext()
    _display, _channel, client, transport = cursor_client(context)
    assert client.can_send_more()
    transport.pending = 10 * 1024 * 1024
    assert not client.can_send_more()


def test_pings_go_out_every_interval_and_pongs_measure_the_round_trip() -> None:
    context = FakeContext()
    channel = MainChannel(context)
    client, transport = link(channel)
    pings = [m for m in transport.take(pings=True) if isinstance(m, MsgPing)]
    assert [p.id for p in pings] == [1]
    context.core.advance(0.025)
    transport.feed(MsgcPong(1, pings[0].timestamp))
    assert client.round_trip_ms == pytest.approx(25.0)
    context.core.advance(10.0)
    assert [p.id for p in transport.take(pings=True) if isinstance(p, MsgPing)] == [2]


def test_a_client_that_never_answers_pings_is_dropped_after_a_minute() -> None:
    context = FakeContext()
    client, transport = link(MainChannel(context))
    context.core.advance(59.0)
    assert not transport.closed
    context.core.advance(11.0)
    assert transport.closed
    assert "no answer to pings" in (transport.close_reason or "")
    assert client.closed


def test_disconnecting_closes_the_connection_and_close_says_goodbye() -> None:
    context = FakeContext()
    _display, _channel, _client, transport = cursor_client(context)
    transport.feed(MsgcDisconnecting(0, 0))
    assert transport.closed and "disconnecting" in (transport.close_reason or "")

    _display, _channel, client, transport = cursor_client(context)
    transport.take()
    client.close("bye")
    assert isinstance(transport.take()[-1], MsgDisconnecting)
    assert transport.closed


def test_an_unknown_message_type_is_a_protocol_error() -> None:
    context = FakeContext()
    _display, _channel, client, _transport = cursor_client(context)
    with pytest.raises(RemoteProtocolError, match="unknown message type 999"):
        client.data_received(pack_client_message(999, b""))


def test_a_message_larger_than_the_channel_allows_is_refused_before_its_body() -> None:
    context = FakeContext()
    _display, _channel, client, _transport = cursor_client(context)
    header_only = pack_client_message(101, b"")[:2] + (10**6).to_bytes(4, "little")
    with pytest.raises(RemoteProtocolError, match="exceeds the limit"):
        client.data_received(header_only)


def test_a_second_connection_of_the_same_channel_replaces_the_first() -> None:
    context = FakeContext()
    display = Display(64, 64)
    channel = CursorChannel(context, display)
    first, first_transport = link(channel)
    second, _ = link(channel, session=first.session)
    assert first_transport.closed
    assert channel.clients == [second]


def test_bad_input_found_in_a_later_turn_closes_the_connection() -> None:
    context = FakeContext()
    _client, transport = link(MainChannel(context))
    request = pack_client_message(MsgcMainAttachChannels.TYPE, b"")
    transport.handler.data_received(request * 300 + pack_client_message(999, b""))
    assert not transport.closed
    context.core.advance(0.001)
    assert transport.closed and "unknown message type 999" in transport.close_reason


def test_a_congested_client_gets_no_answers_until_it_reads() -> None:
    """Requests read while the client's queue is over its budget wait, already parsed
    bytes included; the connection calls again once the queue drains."""
    context = FakeContext()
    context.channels = [(2, 0)]
    _client, transport = link(MainChannel(context))
    transport.take()
    transport.congested = True
    request = pack_client_message(MsgcMainAttachChannels.TYPE, b"")
    transport.handler.data_received(request * 1000)
    assert transport.take() == []
    transport.congested = False
    transport.handler.data_received(b"")
    # A turn of the loop acts on MESSAGES_PER_TURN of them and reads nothing more until
    # the rest are done, on the next turns.
    assert len(transport.take_of(MsgMainChannelsList)) == MESSAGES_PER_TURN
    assert transport.reading_paused
    context.core.advance(0.001)
    assert len(transport.take_of(MsgMainChannelsList)) == 1000 - MESSAGES_PER_TURN
    assert not transport.reading_paused
