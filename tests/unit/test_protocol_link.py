"""The link stage, byte by byte, as the protocol describes it."""

from __future__ import annotations

import struct

import pytest

from spice_server.protocol.caps import caps_from_words, caps_to_words
from spice_server.protocol.constants import CommonCap, LinkError
from spice_server.protocol.errors import LocalProtocolError, RemoteProtocolError
from spice_server.protocol.events import NEED_DATA
from spice_server.protocol.link import (
    AuthMechanismSelected,
    ClientLink,
    LinkReply,
    LinkRequest,
    LinkResult,
    LinkState,
    ServerLink,
    TicketReceived,
)

KEY = bytes(range(162))
SERVER_COMMON = (CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER)


def client_link(connection_id=0, channel_type=1, channel_id=0, common=(0, 3), channel=()):
    header_size = 18 + 4 * (bool(common) + bool(channel))
    body = struct.pack(
        "<IBBIII",
        connection_id,
        channel_type,
        channel_id,
        1 if common else 0,
        1 if channel else 0,
        18,
    )
    if common:
        body += struct.pack("<I", sum(1 << c for c in common))
    if channel:
        body += struct.pack("<I", sum(1 << c for c in channel))
    assert len(body) == header_size
    return b"REDQ" + struct.pack("<III", 2, 2, len(body)) + body


def test_caps_words() -> None:
    assert caps_to_words([0, 3]) == [0b1001]
    assert caps_to_words([33]) == [0, 2]
    assert caps_to_words([]) == []
    assert caps_from_words([0b1001, 2]) == {0, 3, 33}


def test_request_matches_link_mess_layout() -> None:
    request = LinkRequest(0x1234, 2, 1, frozenset({0, 3}), frozenset({5}))
    assert request.pack() == client_link(0x1234, 2, 1, (0, 3), (5,))


def test_full_handshake_with_auth_selection() -> None:
    link = ServerLink()
    link.receive_data(client_link(channel=(1,)) + struct.pack("<I", 1) + b"T" * 128 + b"next")
    request = link.next_event()
    assert request == LinkRequest(0, 1, 0, frozenset({0, 3}), frozenset({1}))
    assert link.state is LinkState.SEND_REPLY
    reply = link.send_reply(KEY, SERVER_COMMON, [1, 2])
    assert reply[:16] == b"REDQ" + struct.pack("<III", 2, 2, 178 + 8)
    assert struct.unpack_from("<I", reply, 16) == (0,)
    assert reply[20:182] == KEY
    assert struct.unpack_from("<IIIII", reply, 182) == (1, 1, 178, 0b1011, 0b110)
    assert link.auth_selection and link.mini_header
    assert link.next_event() == AuthMechanismSelected(1)
    assert link.next_event() == TicketReceived(b"T" * 128)
    assert link.send_result(LinkError.OK) == struct.pack("<I", 0)
    assert link.state is LinkState.DONE
    assert link.trailing_data() == b"next"


def test_without_auth_selection_the_ticket_comes_directly() -> None:
    link = ServerLink()
    link.receive_data(client_link(common=()))
    link.next_event()
    link.send_reply(KEY, SERVER_COMMON, [])
    assert not link.auth_selection and not link.mini_header
    link.receive_data(b"x" * 128)
    assert link.next_event() == TicketReceived(b"x" * 128)


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    data = client_link() + struct.pack("<I", 1) + bytes(128)
    link = ServerLink()
    events = []
    for i, byte in enumerate(data):
        link.receive_data(bytes([byte]))
        event = link.next_event()
        if event is not NEED_DATA:
            events.append(event)
            if isinstance(event, LinkRequest):
                link.send_reply(KEY, SERVER_COMMON, [])
                assert i == len(client_link()) - 1
        event = link.next_event()
        if event is not NEED_DATA:
            events.append(event)
    assert [type(e) for e in events] == [LinkRequest, AuthMechanismSelected, TicketReceived]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"GET / HTTP/1.1\r\n", LinkError.INVALID_MAGIC, "bad magic"),
        (b"REDQ" + struct.pack("<III", 3, 0, 18), LinkError.VERSION_MISMATCH, "version 3"),
        (b"REDQ" + struct.pack("<III", 2, 2, 17), LinkError.INVALID_DATA, "size 17"),
        (b"REDQ" + struct.pack("<III", 2, 2, 4097), LinkError.INVALID_DATA, "size 4097"),
        (
            b"REDQ" + struct.pack("<III", 2, 2, 18) + struct.pack("<IBBIII", 0, 1, 0, 1, 0, 18),
            LinkError.INVALID_DATA,
            "outside",
        ),
        (
            b"REDQ"
            + struct.pack("<III", 2, 2, 22)
            + struct.pack("<IBBIII", 0, 1, 0, 1, 0, 17)
            + bytes(4),
            LinkError.INVALID_DATA,
            "outside",
        ),
        (
            b"REDQ"
            + struct.pack("<III", 2, 2, 4096)
            + struct.pack("<IBBIII", 0, 1, 0, 1000, 25, 18)
            + bytes(4096 - 18),
            LinkError.INVALID_DATA,
            "too many",
        ),
    ],
)
def test_bad_requests(data, error, message) -> None:
    link = ServerLink()
    link.receive_data(data)
    with pytest.raises(RemoteProtocolError, match=message) as raised:
        link.next_event()
    assert raised.value.link_error == error
    assert link.state is LinkState.ERROR
    refusal = link.send_error(raised.value.link_error)
    assert len(refusal) == 16 + 178
    assert refusal[:16] == b"REDQ" + struct.pack("<III", 2, 2, 178)
    assert struct.unpack_from("<I", refusal, 16) == (error,)
    assert refusal[20:] == bytes(178 - 4)


def test_magic_is_checked_as_soon_as_four_bytes_arrive() -> None:
    link = ServerLink()
    link.receive_data(b"XXXX")
    with pytest.raises(RemoteProtocolError):
        link.next_event()


def test_unsupported_mechanism_after_the_reply_gets_a_u32_error() -> None:
    link = ServerLink()
    link.receive_data(client_link() + struct.pack("<I", 2))
    link.next_event()
    link.send_reply(KEY, SERVER_COMMON, [])
    with pytest.raises(RemoteProtocolError, match="auth mechanism 2") as raised:
        link.next_event()
    assert link.send_error(raised.value.link_error) == struct.pack("<I", LinkError.INVALID_DATA)


def test_refusing_a_request_before_the_reply() -> None:
    link = ServerLink()
    link.receive_data(client_link(channel_type=9))
    link.next_event()
    refusal = link.send_error(LinkError.CHANNEL_NOT_AVAILABLE)
    assert struct.unpack_from("<I", refusal, 16) == (9,)


def test_misuse_is_a_local_error() -> None:
    link = ServerLink()
    with pytest.raises(LocalProtocolError):
        link.send_reply(KEY, SERVER_COMMON, [])
    with pytest.raises(LocalProtocolError):
        link.send_result(LinkError.OK)
    with pytest.raises(LocalProtocolError):
        link.trailing_data()
    link.receive_data(client_link())
    link.next_event()
    with pytest.raises(LocalProtocolError, match="162"):
        link.send_reply(b"short", SERVER_COMMON, [])
    with pytest.raises(LocalProtocolError):
        link.send_error(LinkError.OK)


def test_a_failed_ticket_result_ends_in_error() -> None:
    link = ServerLink()
    link.receive_data(client_link() + struct.pack("<I", 1) + bytes(128))
    link.next_event()
    link.send_reply(KEY, SERVER_COMMON, [])
    link.next_event()
    link.next_event()
    assert link.send_result(LinkError.PERMISSION_DENIED) == struct.pack("<I", 7)
    assert link.state is LinkState.ERROR


def test_client_link_reads_the_reply_then_the_result() -> None:
    link = ServerLink()
    link.receive_data(client_link())
    link.next_event()
    reply = link.send_reply(KEY, SERVER_COMMON, [1, 40])
    client = ClientLink()
    client.receive_data(reply[:20])
    assert client.next_event() is NEED_DATA
    client.receive_data(reply[20:])
    assert client.next_event() == LinkReply(0, KEY, frozenset(SERVER_COMMON), frozenset({1, 40}))
    assert client.next_event() is NEED_DATA  # the result comes after the client's ticket
    client.receive_data(struct.pack("<I", LinkError.OK) + b"rest")
    assert client.next_event() == LinkResult(LinkError.OK)
    assert client.next_event() is NEED_DATA
    assert client.trailing_data() == b"rest"


def test_client_link_after_a_refusal_expects_nothing_more() -> None:
    link = ServerLink()
    client = ClientLink()
    client.receive_data(link.send_error(LinkError.CHANNEL_NOT_AVAILABLE))
    refused = client.next_event()
    assert isinstance(refused, LinkReply) and refused.error == LinkError.CHANNEL_NOT_AVAILABLE
    assert refused.common_caps == refused.channel_caps == frozenset()
    assert client.next_event() is NEED_DATA
    assert client.trailing_data() == b""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"HTTP/1.1 400", "bad magic"),
        (b"REDQ" + struct.pack("<III", 2, 2, 177), "short link reply"),
        (
            b"REDQ" + struct.pack("<III", 2, 2, 178) + struct.pack("<I162sIII", 0, KEY, 1, 0, 178),
            "outside the link reply",
        ),
    ],
    ids=["magic", "short", "caps-outside"],
)
def test_client_link_refuses_bad_replies(data, message) -> None:
    client = ClientLink()
    client.receive_data(data)
    with pytest.raises(RemoteProtocolError, match=message):
        client.next_event()
    with pytest.raises(LocalProtocolError):
        client.trailing_data()
