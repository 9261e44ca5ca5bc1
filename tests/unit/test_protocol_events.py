"""One way to say "not enough bytes yet", the same in every parser of the protocol.

Every parser takes bytes with ``receive_data`` and gives one event per ``next_event`` call,
or ``NEED_DATA`` while no complete event is buffered. Whether the bytes arrive one at a
time or all in one piece, the events are the same, and each comes out exactly when the
last byte of its encoding has arrived, not one byte earlier.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pytest

from spice_server.protocol.agent import AgentChunk, AgentMessage, AgentStream, ChunkStream
from spice_server.protocol.constants import CommonCap, LinkError
from spice_server.protocol.events import NEED_DATA, NeedData
from spice_server.protocol.framing import DataStream, Message, pack_client_message
from spice_server.protocol.link import (
    AuthMechanismSelected,
    ClientLink,
    LinkReply,
    LinkRequest,
    LinkResult,
    ServerLink,
    TicketReceived,
)

KEY = bytes(range(162))
COMMON = frozenset({CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE})


class Parser(Protocol):
    def receive_data(self, data: bytes) -> None: ...
    def next_event(self) -> object: ...


def no_reaction(parser: Parser, event: object) -> None:
    pass


def server_answers(parser: Parser, event: object) -> None:
    """What the server does between link events: reply to the request, judge the ticket."""
    assert isinstance(parser, ServerLink)
    if isinstance(event, LinkRequest):
        parser.send_reply(KEY, COMMON, [])
    elif isinstance(event, TicketReceived):
        parser.send_result(LinkError.OK)


@dataclass
class Case:
    """A parser, the encodings of the events it must give (in order), and its reactions."""

    make: Callable[[], Parser]
    pieces: list[tuple[bytes, object]]
    react: Callable[[Parser, object], None] = no_reaction


def server_reply_bytes() -> bytes:
    link = ServerLink()
    link.receive_data(LinkRequest(0, 1, 0, COMMON).pack())
    link.next_event()
    return link.send_reply(KEY, COMMON, [7])


REQUEST = LinkRequest(0, 2, 1, COMMON, frozenset({3}))
MOTION = struct.pack("<iiH", -1, 2, 4)
CASES = {
    "link stage (server)": Case(
        ServerLink,
        [
            (REQUEST.pack(), REQUEST),
            (struct.pack("<I", CommonCap.AUTH_SPICE), AuthMechanismSelected(CommonCap.AUTH_SPICE)),
            (b"T" * 128, TicketReceived(b"T" * 128)),
        ],
        server_answers,
    ),
    "link stage (client)": Case(
        ClientLink,
        [
            (server_reply_bytes(), LinkReply(0, KEY, COMMON, frozenset({7}))),
            (struct.pack("<I", 0), LinkResult(LinkError.OK)),
        ],
    ),
    "data framing, mini header": Case(
        DataStream,
        [
            (pack_client_message(111, MOTION), Message(111, MOTION)),
            (pack_client_message(2, b""), Message(2, b"")),
            (pack_client_message(107, bytes(3000)), Message(107, bytes(3000))),
        ],
    ),
    "data framing, full header": Case(
        lambda: DataStream(mini_header=False),
        [
            (
                pack_client_message(1, b"\x01\0\0\0", mini_header=False, serial=1),
                Message(1, b"\x01\0\0\0"),
            ),
            (pack_client_message(2, b"", mini_header=False, serial=2), Message(2, b"")),
        ],
    ),
    "agent records": Case(
        AgentStream,
        [
            (AgentMessage(6, b"caps").pack(), AgentMessage(6, b"caps")),
            (AgentMessage(9, b"").pack(), AgentMessage(9, b"")),
            (AgentMessage(4, bytes(5000)).pack(), AgentMessage(4, bytes(5000))),
        ],
    ),
    "agent chunks": Case(
        ChunkStream,
        [
            (struct.pack("<II", 1, 3) + b"abc", AgentChunk(1, b"abc")),
            (struct.pack("<II", 2, 0), AgentChunk(2, b"")),
            (struct.pack("<II", 1, 1000) + bytes(1000), AgentChunk(1, bytes(1000))),
        ],
    ),
}


def drain(parser: Parser, case: Case) -> list[object]:
    events = []
    while (event := parser.next_event()) is not NEED_DATA:
        events.append(event)
        case.react(parser, event)
    return events


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_fresh_parser_needs_data(case: Case) -> None:
    parser = case.make()
    assert parser.next_event() is NEED_DATA
    parser.receive_data(b"")
    assert parser.next_event() is NEED_DATA


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bytes_one_at_a_time(case: Case) -> None:
    """Each event comes out on the very byte that completes it, and only then."""
    parser = case.make()
    data = b"".join(piece for piece, _ in case.pieces)
    ends, offset = [], 0
    for piece, _ in case.pieces:
        offset += len(piece)
        ends.append(offset)
    seen: list[tuple[int, object]] = []
    for count in range(1, len(data) + 1):
        parser.receive_data(data[count - 1 : count])
        seen += [(count, event) for event in drain(parser, case)]
    assert seen == list(zip(ends, [event for _, event in case.pieces], strict=True))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_several_events_in_one_feed(case: Case) -> None:
    parser = case.make()
    parser.receive_data(b"".join(piece for piece, _ in case.pieces))
    assert drain(parser, case) == [event for _, event in case.pieces]
    assert parser.next_event() is NEED_DATA  # and it stays so


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_piece_cut_anywhere(case: Case) -> None:
    """Two feeds, cut at every offset of the first event's encoding: nothing before its end."""
    first, event = case.pieces[0]
    for cut in range(len(first)):
        parser = case.make()
        parser.receive_data(first[:cut])
        assert parser.next_event() is NEED_DATA
        parser.receive_data(first[cut:])
        assert drain(parser, case) == [event]


def test_need_data_is_one_object_with_a_readable_name() -> None:
    assert isinstance(NEED_DATA, NeedData)
    assert list(NeedData) == [NEED_DATA]
    assert repr(NEED_DATA) == "NEED_DATA"
