"""The WebSocket transport, bytes in and bytes out: the upgrade, framing both ways, bad input.

Client frames are built by hand (wsframes) so that what the tests send is visibly what a
browser sends: masked frames, the upgrade request spice-html5 makes.
"""

from __future__ import annotations

import os
import re
import struct

import pytest

from spice_server.net.websocket import (
    MAX_EVENTS,
    MAX_FRAME_BYTES,
    StreamKind,
    WebSocketTransport,
    sniff,
)
from spice_server.protocol.errors import RemoteProtocolError

from wsframes import (
    ACCEPT,
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    client_frame,
    parse_server_frames,
    upgrade_request,
)


def opened(**options: object) -> WebSocketTransport:
    ws = WebSocketTransport(**options)  # type: ignore[arg-type]
    assert ws.receive_data(upgrade_request()) == b""
    ws.data_to_send()
    return ws


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# -- telling WebSocket from SPICE -------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        (b"REDQ", StreamKind.SPICE),
        (b"R", StreamKind.SPICE),
        (b"GET / HTTP/1.1", StreamKind.WEBSOCKET),
        (b"GET ", StreamKind.WEBSOCKET),
        (b"GE", None),
        (b"", None),
        (b"GEX ", StreamKind.SPICE),
        (b"get ", StreamKind.SPICE),
    ],
)
def test_sniff_decides_from_the_first_four_bytes(prefix: bytes, kind: StreamKind | None) -> None:
    assert sniff(prefix) is kind


# -- the opening handshake --------------------------------------------------------------


def test_upgrade_answers_101_with_the_binary_subprotocol() -> None:
    ws = WebSocketTransport()
    assert ws.receive_data(upgrade_request()) == b""
    response = ws.data_to_send().decode()
    head = response.split("\r\n")
    assert head[0] == "HTTP/1.1 101 Switching Protocols"
    headers = {line.split(": ", 1)[0].lower(): line.split(": ", 1)[1] for line in head[1:] if line}
    assert headers["sec-websocket-accept"] == ACCEPT
    assert headers["sec-websocket-protocol"] == "binary"
    assert response.endswith("\r\n\r\n")
    assert ws.open and ws.subprotocol == "binary"


def test_upgrade_without_subprotocols_selects_none() -> None:
    ws = WebSocketTransport()
    ws.receive_data(upgrade_request(protocols=None))
    assert b"sec-websocket-protocol" not in ws.data_to_send().lower()
    assert ws.open and ws.subprotocol is None


def test_binary_is_chosen_among_several() -> None:
    ws = WebSocketTransport()
    ws.receive_data(upgrade_request(protocols="base64, binary"))
    assert b"Sec-WebSocket-Protocol: binary\r\n" in ws.data_to_send()


def test_request_arriving_byte_by_byte() -> None:
    ws = WebSocketTransport()
    request = upgrade_request()
    for i in range(len(request) - 1):
        assert ws.receive_data(request[i : i + 1]) == b""
        assert ws.data_to_send() == b""
    ws.receive_data(request[-1:])
    assert ws.data_to_send().startswith(b"HTTP/1.1 101 ")


def test_only_the_binary_subprotocol_is_served() -> None:
    ws = WebSocketTransport()
    with pytest.raises(RemoteProtocolError, match="only 'binary' is served"):
        ws.receive_data(upgrade_request(protocols="base64"))
    assert status_of(ws.data_to_send()) == 400
    assert not ws.open


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a plain page request: no Upgrade
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        b"GET \x00\x01 nonsense\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
    ],
)
def test_broken_requests_get_400_and_an_error(request_bytes: bytes) -> None:
    ws = WebSocketTransport()
    with pytest.raises(RemoteProtocolError, match="bad WebSocket handshake"):
        ws.receive_data(request_bytes)
    assert status_of(ws.data_to_send()) == 400


def test_endless_request_headers_are_refused() -> None:
    """An unfinished request is bounded, so a client cannot fill memory with headers."""
    ws = WebSocketTransport()
    ws.receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(RemoteProtocolError, match="no end of the request"):
        for _ in range(1000):
            ws.receive_data(b"X-Padding: " + b"a" * 100 + b"\r\n")
    assert status_of(ws.data_to_send()) == 400


def test_origin_check_can_refuse_with_403() -> None:
    seen = []

    def check(origin: str | None) -> str | None:
        seen.append(origin)
        return "not from here" if origin != "http://127.0.0.1:8000" else None

    ws = WebSocketTransport(check)
    refused = re.escape("'https://example.com' refused: not from here")
    with pytest.raises(RemoteProtocolError, match=refused):
        ws.receive_data(upgrade_request(origin="https://example.com"))
    assert status_of(ws.data_to_send()) == 403

    ok = WebSocketTransport(check)
    ok.receive_data(upgrade_request(origin="http://127.0.0.1:8000"))
    assert ok.open
    assert seen == ["https://example.com", "http://127.0.0.1:8000"]


# -- data both ways ---------------------------------------------------------------------


def test_binary_frames_carry_the_byte_stream() -> None:
    ws = opened()
    assert ws.receive_data(client_frame(b"REDQ") + client_frame(b"\x02\x00")) == b"REDQ\x02\x00"
    assert ws.data_to_send() == b""


def test_frames_split_anywhere_still_give_the_stream() -> None:
    ws = opened()
    wire = client_frame(b"A" * 300) + client_frame(b"B" * 5)
    got = b"".join(ws.receive_data(wire[i : i + 7]) for i in range(0, len(wire), 7))
    assert got == b"A" * 300 + b"B" * 5


def test_fragmented_message_is_concatenated() -> None:
    ws = opened()
    wire = client_frame(b"one", fin=False) + client_frame(b"two", CONTINUATION)
    assert ws.receive_data(wire) == b"onetwo"


def test_frames_arriving_with_the_request_are_not_lost() -> None:
    """A client should wait for the 101 before sending frames; one that does not still
    gets its bytes through, in order."""
    ws = WebSocketTransport()
    assert ws.receive_data(upgrade_request() + client_frame(b"REDQ")) == b"REDQ"
    assert ws.data_to_send().startswith(b"HTTP/1.1 101 ")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 300_000])
def test_send_frames_one_binary_message(size: int) -> None:
    ws = opened()
    payload = os.urandom(size)
    frames = parse_server_frames(ws.send(payload))
    if size == 0:
        assert frames == []
    else:
        assert frames == [(BINARY, payload)]


def test_send_takes_memoryviews() -> None:
    ws = opened()
    data = memoryview(b"xxREDQxx")[2:6]
    assert parse_server_frames(ws.send(data)) == [(BINARY, b"REDQ")]


def test_ping_is_answered_with_pong() -> None:
    ws = opened()
    assert ws.receive_data(client_frame(b"hi", PING) + client_frame(b"data")) == b"data"
    assert parse_server_frames(ws.data_to_send()) == [(PONG, b"hi")]


def test_unsolicited_pong_is_ignored() -> None:
    ws = opened()
    assert ws.receive_data(client_frame(b"", PONG)) == b""
    assert ws.data_to_send() == b"" and ws.open


# -- closing ----------------------------------------------------------------------------


def test_peer_close_is_answered_and_reported() -> None:
    ws = opened()
    data = ws.receive_data(client_frame(b"last") + client_frame(struct.pack("!H", 1000), CLOSE))
    assert data == b"last"
    assert ws.peer_closed and ws.close_code == 1000 and not ws.open
    assert parse_server_frames(ws.data_to_send()) == [(CLOSE, struct.pack("!H", 1000))]
    assert ws.send(b"too late") == b""
    assert ws.receive_data(client_frame(b"after close")) == b""


def test_our_close_frame_then_the_peer_answer() -> None:
    ws = opened()
    frames = parse_server_frames(ws.close(1001, "server shutting down"))
    assert frames == [(CLOSE, struct.pack("!H", 1001) + b"server shutting down")]
    assert not ws.open and ws.close() == b""
    ws.receive_data(client_frame(struct.pack("!H", 1001), CLOSE))
    assert ws.peer_closed and ws.data_to_send() == b""


def test_nothing_is_said_after_the_socket_ended() -> None:
    ws = opened()
    ws.eof_received()
    assert ws.close() == b"" and ws.send(b"x") == b""


# -- bad frames -------------------------------------------------------------------------


def close_code_sent(ws: WebSocketTransport) -> int:
    ((opcode, payload),) = parse_server_frames(ws.data_to_send())
    assert opcode == CLOSE
    return int(struct.unpack("!H", payload[:2])[0])


def test_unmasked_client_frame_is_a_protocol_error() -> None:
    ws = opened()
    with pytest.raises(RemoteProtocolError, match=r"bad WebSocket frame: .*unmasked"):
        ws.receive_data(client_frame(b"REDQ", mask=False))
    assert close_code_sent(ws) == 1002
    assert not ws.open and ws.send(b"x") == b""


def test_text_message_is_refused() -> None:
    ws = opened()
    with pytest.raises(RemoteProtocolError, match="text message"):
        ws.receive_data(client_frame(b"REDQ", TEXT))
    assert close_code_sent(ws) == 1003


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (bytes([0x83, 0x80]) + b"\0\0\0\0", "opcode"),  # reserved opcode 3
        (bytes([0xC2, 0x80]) + b"\0\0\0\0", "Reserved bit"),  # RSV1 with no extension
        (bytes([0x09, 0x80]) + b"\0\0\0\0", "fragment control"),  # a ping without FIN
        (bytes([0x89, 0xFE, 0x00, 0x80]) + b"\0\0\0\0", "Control frame"),  # 128-byte ping
        (bytes([0x82, 0xFE, 0x00, 0x05]) + b"\0\0\0\0", "2 bytes when 1"),  # non-minimal
        (bytes([0x82, 0xFF]) + b"\x80" + b"\0" * 7, "MSB"),  # 64-bit length with top bit
        (client_frame(b"x", CONTINUATION), "continuation"),  # continuing nothing
    ],
)
def test_malformed_frames_close_with_protocol_error(frame: bytes, why: str) -> None:
    ws = opened()
    with pytest.raises(RemoteProtocolError, match="bad WebSocket frame") as info:
        ws.receive_data(frame)
    assert why.lower() in str(info.value).lower()
    assert close_code_sent(ws) == 1002


def test_oversized_frame_is_refused_before_it_ends() -> None:
    ws = opened()
    header = bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 40) + b"\0\0\0\0"
    ws.receive_data(header)
    chunk = bytes(64 * 1024)
    with pytest.raises(RemoteProtocolError, match="frame larger than"):
        for _ in range(MAX_FRAME_BYTES // len(chunk) + 1):
            assert len(ws.receive_data(chunk)) == len(chunk)
    assert close_code_sent(ws) == 1009


def test_frame_limit_counts_per_frame_not_per_connection() -> None:
    ws = opened(max_frame_bytes=1000)
    for _ in range(10):
        assert len(ws.receive_data(client_frame(bytes(1000)))) == 1000
    with pytest.raises(RemoteProtocolError, match="larger than 1000"):
        ws.receive_data(client_frame(bytes(1001)))


def test_frames_are_parsed_a_bounded_number_at_a_time() -> None:
    ws = WebSocketTransport()
    ws.receive_data(upgrade_request())
    ws.data_to_send()
    pings = (bytes([0x89, 0x80]) + bytes(4)) * 1000
    data = ws.receive_data(pings + client_frame(b"spice"))
    assert data == b"" and ws.backlog
    assert len(ws.data_to_send()) == 2 * MAX_EVENTS  # one pong each so far
    turns = 1
    while ws.backlog:
        data += ws.receive_data(b"")
        turns += 1
    assert data == b"spice" and turns == 1001 // MAX_EVENTS + 1
