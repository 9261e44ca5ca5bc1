"""Data-stage headers: the 6-byte mini header and the 18-byte full header with serials."""

from __future__ import annotations

import struct

import pytest

from spice_server.protocol.errors import RemoteProtocolError
from spice_server.protocol.events import NEED_DATA
from spice_server.protocol.framing import DataStream, Message, pack_client_message


def test_mini_header_in_and_out() -> None:
    stream = DataStream(mini_header=True)
    assert stream.send(103, b"abc") == struct.pack("<HI", 103, 3) + b"abc"
    stream.receive_data(struct.pack("<HI", 104, 0) + struct.pack("<HI", 105, 2) + b"x")
    assert stream.next_event() == Message(104, b"")
    assert stream.next_event() is NEED_DATA
    stream.receive_data(b"y")
    assert stream.next_event() == Message(105, b"xy")
    assert stream.next_event() is NEED_DATA


def test_full_header_numbers_serials_from_one() -> None:
    stream = DataStream(mini_header=False)
    first = stream.send(3, b"\x01\x00\x00\x00\x14\x00\x00\x00")
    assert first[:18] == struct.pack("<QHII", 1, 3, 8, 0)
    assert stream.send_header(4, 12) == struct.pack("<QHII", 2, 4, 12, 0)
    stream.receive_data(pack_client_message(1, b"\x01\0\0\0", mini_header=False, serial=1))
    stream.receive_data(pack_client_message(2, b"", mini_header=False, serial=2))
    assert stream.next_event() == Message(1, b"\x01\0\0\0")
    assert stream.next_event() == Message(2, b"")


def test_full_header_refuses_a_wrong_serial() -> None:
    stream = DataStream(mini_header=False)
    stream.receive_data(pack_client_message(2, b"", mini_header=False, serial=5))
    with pytest.raises(RemoteProtocolError, match="serial 5, expected 1"):
        stream.next_event()


def test_oversized_message_is_refused_from_its_header_alone() -> None:
    stream = DataStream(max_message_size=100)
    stream.receive_data(struct.pack("<HI", 107, 101))
    with pytest.raises(RemoteProtocolError, match="101 bytes exceeds the limit of 100"):
        stream.next_event()
    ok = DataStream(max_message_size=100)
    ok.receive_data(struct.pack("<HI", 107, 100) + bytes(100))
    assert ok.next_event() == Message(107, bytes(100))


def test_byte_by_byte() -> None:
    data = pack_client_message(111, struct.pack("<iiH", -1, 2, 4)) * 3
    stream = DataStream()
    messages = []
    for byte in data:
        stream.receive_data(bytes([byte]))
        event = stream.next_event()
        if event is not NEED_DATA:
            messages.append(event)
    assert messages == [Message(111, struct.pack("<iiH", -1, 2, 4))] * 3
