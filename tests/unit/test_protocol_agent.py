"""The VD agent protocol: records, chunks and payloads, byte by byte."""

from __future__ import annotations

import struct

import pytest

from spice_server.protocol.agent import (
    MAX_CAP_WORDS,
    AgentChunk,
    AgentMessage,
    AgentMessageType,
    AgentStream,
    ChunkStream,
    ClipboardCodec,
    MonitorConfig,
    pack_announce_capabilities,
    pack_chunk,
    pack_monitors_config,
    pack_reply,
    split_for_client,
    unpack_announce_capabilities,
    unpack_monitors_config,
)
from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.events import NEED_DATA


def drain(stream: AgentStream | ChunkStream) -> list[object]:
    """Every complete event the stream holds, read until it needs data."""
    events = []
    while (event := stream.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def test_record_header() -> None:
    assert AgentMessage(6, b"xy").pack() == struct.pack("<IIQI", 1, 6, 0, 2) + b"xy"


def test_stream_reassembles_records_across_pieces() -> None:
    data = AgentMessage(4, b"a" * 3000).pack() + AgentMessage(9, b"").pack()
    stream = AgentStream()
    records = []
    for i in range(0, len(data), 997):
        stream.receive_data(data[i : i + 997])
        records += drain(stream)
    assert records == [AgentMessage(4, b"a" * 3000), AgentMessage(9, b"")]


def test_stream_refuses_other_protocols_and_huge_records() -> None:
    stream = AgentStream()
    stream.receive_data(struct.pack("<IIQI", 2, 6, 0, 0))
    with pytest.raises(RemoteProtocolError, match="agent protocol 2"):
        stream.next_event()
    stream = AgentStream(max_clipboard=100)
    stream.receive_data(struct.pack("<IIQI", 1, 4, 0, 109))
    with pytest.raises(RemoteProtocolError, match="109 bytes"):
        stream.next_event()


@pytest.mark.parametrize(
    ("msg_type", "allowed"),
    [
        (AgentMessageType.ANNOUNCE_CAPABILITIES, 132),
        (AgentMessageType.CLIPBOARD_GRAB, 136),
        (AgentMessageType.MONITORS_CONFIG, 328),
        (AgentMessageType.CLIPBOARD_REQUEST, 4096),
        (99, 4096),  # a type the protocol does not define
        (AgentMessageType.CLIPBOARD, 1008),  # the clipboard setting, and its 8-byte head
    ],
)
def test_each_record_type_has_its_own_size_limit(msg_type: int, allowed: int) -> None:
    """Refused from the header alone: a hostile size is never buffered."""
    stream = AgentStream(max_clipboard=1000)
    stream.receive_data(struct.pack("<IIQI", 1, msg_type, 0, allowed))
    assert stream.next_event() is NEED_DATA
    stream = AgentStream(max_clipboard=1000)
    stream.receive_data(struct.pack("<IIQI", 1, msg_type, 0, allowed + 1))
    with pytest.raises(RemoteProtocolError, match="exceeds its limit"):
        stream.next_event()


def test_capability_words_past_the_defined_ones_are_not_read() -> None:
    payload = struct.pack("<I", 1) + b"\xff" * 4 * 32
    request, caps = unpack_announce_capabilities(payload)
    assert request and caps == frozenset(range(32 * MAX_CAP_WORDS))


def test_a_grab_with_too_many_types_is_refused() -> None:
    codec = ClipboardCodec()
    assert codec.unpack_grab(struct.pack("<32I", *[1] * 32)) == (0, [1] * 32)
    with pytest.raises(RemoteProtocolError, match="33 types"):
        codec.unpack_grab(struct.pack("<33I", *[1] * 33))


def test_records_for_the_client_are_cut_at_2048_bytes() -> None:
    message = AgentMessage(4, bytes(5000))
    pieces = split_for_client(message)
    assert [len(p) for p in pieces] == [2048, 2048, 924]
    assert b"".join(pieces) == message.pack()


def test_chunks() -> None:
    assert pack_chunk(1, b"abc") == struct.pack("<II", 1, 3) + b"abc"
    stream = ChunkStream()
    stream.receive_data(pack_chunk(1, b"abc") + pack_chunk(2, b"")[:5])
    assert drain(stream) == [AgentChunk(1, b"abc")]
    stream.receive_data(pack_chunk(2, b"")[5:])
    assert drain(stream) == [AgentChunk(2, b"")]
    stream = ChunkStream(max_chunk_size=10)
    stream.receive_data(struct.pack("<II", 1, 11))
    with pytest.raises(RemoteProtocolError):
        stream.next_event()


def test_capabilities() -> None:
    payload = pack_announce_capabilities(True, [1, 5, 33])
    assert payload == struct.pack("<III", 1, (1 << 1) | (1 << 5), 2)
    assert unpack_announce_capabilities(payload) == (True, frozenset({1, 5, 33}))
    assert pack_announce_capabilities(False, []) == struct.pack("<II", 0, 0)
    with pytest.raises(RemoteProtocolError):
        unpack_announce_capabilities(b"\x01")


def test_monitors_config_is_height_first() -> None:
    payload = pack_monitors_config([MonitorConfig(1024, 768, 32, 10, -5)], flags=1)
    assert payload == struct.pack("<II", 1, 1) + struct.pack("<IIIii", 768, 1024, 32, 10, -5)
    assert unpack_monitors_config(payload) == (1, [MonitorConfig(1024, 768, 32, 10, -5)])
    with pytest.raises(RemoteProtocolError):
        unpack_monitors_config(struct.pack("<II", 2, 0) + bytes(20))
    with pytest.raises(RemoteProtocolError, match="1000 monitors"):
        unpack_monitors_config(struct.pack("<II", 1000, 0))


def test_reply() -> None:
    assert pack_reply(2, 1) == struct.pack("<II", 2, 1)  # type: ignore[arg-type]


def test_clipboard_without_and_with_selection_headers() -> None:
    plain = ClipboardCodec()
    assert plain.pack_grab(0, [1, 2]) == struct.pack("<II", 1, 2)
    assert plain.unpack_grab(struct.pack("<II", 1, 2)) == (0, [1, 2])
    assert plain.pack_request(0, 1) == struct.pack("<I", 1)
    assert plain.unpack_data(struct.pack("<I", 1) + b"hi") == (0, 1, b"hi")
    assert plain.pack_release(0) == b""

    selection = ClipboardCodec(selection=True)
    assert selection.pack_grab(1, [1]) == bytes([1, 0, 0, 0]) + struct.pack("<I", 1)
    assert selection.unpack_request(bytes([1, 0, 0, 0]) + struct.pack("<I", 1)) == (1, 1)
    assert selection.pack_data(1, 1, b"x") == bytes([1, 0, 0, 0]) + struct.pack("<I", 1) + b"x"
    assert selection.unpack_release(bytes([1, 0, 0, 0])) == 1
    with pytest.raises(RemoteProtocolError):
        selection.unpack_release(b"")

    serial = ClipboardCodec(selection=True, grab_serial=True)
    grab = serial.pack_grab(0, [1], serial=7)
    assert grab == bytes(4) + struct.pack("<II", 7, 1)
    assert serial.unpack_grab(grab) == (0, [1])
    with pytest.raises(RemoteProtocolError):
        plain.unpack_request(b"")
