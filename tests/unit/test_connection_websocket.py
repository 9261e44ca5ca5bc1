"""A Connection on a real socket pair: plain SPICE and WebSocket on the same socket type.

The handler must see the same byte stream either way; what the peer reads is framed on a
WebSocket; bad input closes that one connection with a logged reason.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from spice_server import SelectorCore, Server
from spice_server.net.connection import ENTRY_COST, READ_PAUSE, Connection

from wsframes import (
    BINARY,
    CLOSE,
    client_frame,
    parse_server_frames,
    upgrade_request,
)


class Handler:
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: list[str] = []
        self.writable_calls = 0

    def data_received(self, data: bytes) -> None:
        self.data += data

    def writable(self) -> None:
        self.writable_calls += 1

    def connection_lost(self, reason: str) -> None:
        self.lost.append(reason)


class Pair:
    def __init__(self, **options: object) -> None:
        self.core = SelectorCore()
        server_side, self.peer = socket.socketpair()
        self.peer.settimeout(2)
        self.connection = Connection(self.core, server_side, **options)  # type: ignore[arg-type]
        self.handler = Handler()
        self.connection.handler = self.handler

    def run(self, seconds: float = 0.05) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.core.run_once(left)

    def read_peer(self) -> bytes:
        self.peer.setblocking(False)
        chunks = []
        try:
            while chunk := self.peer.recv(1 << 20):
                chunks.append(chunk)
        except BlockingIOError:
            pass
        self.peer.settimeout(2)
        return b"".join(chunks)

    def upgrade(self) -> None:
        self.peer.sendall(upgrade_request())
        self.run()
        assert self.read_peer().startswith(b"HTTP/1.1 101 ")

    def close(self) -> None:
        self.connection.close("test over")
        self.peer.close()
        self.core.close()


@pytest.fixture
def make_pair() -> Iterator:
    pairs: list[Pair] = []

    def make(**options: object) -> Pair:
        pair = Pair(**options)
        pairs.append(pair)
        return pair

    yield make
    for pair in pairs:
        pair.close()


def test_plain_spice_passes_through_untouched(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.peer.sendall(b"RE")
    pair.run()
    assert pair.handler.data == b"RE"  # "RE" cannot start "GET ": no waiting
    pair.peer.sendall(b"DQ\x02\x00")
    pair.run()
    assert pair.handler.data == b"REDQ\x02\x00" and pair.connection.websocket is None
    pair.connection.write(b"reply")
    assert pair.read_peer() == b"reply"


def test_a_prefix_of_get_is_held_until_certain(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.peer.sendall(b"GE")
    pair.run()
    assert pair.handler.data == b""
    pair.peer.sendall(b"T / HTTP/1.1\r\n")
    pair.run()
    assert pair.connection.websocket is not None and pair.handler.data == b""


def test_websocket_off_treats_http_as_spice(make_pair) -> None:
    pair = make_pair(websocket=False)
    pair.peer.sendall(b"GET / HTTP/1.1\r\n")
    pair.run()
    assert pair.handler.data == b"GET / HTTP/1.1\r\n" and pair.connection.websocket is None


def test_websocket_carries_the_same_stream_both_ways(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.upgrade()
    pair.peer.sendall(client_frame(b"REDQ") + client_frame(b"\x02\x00\x00\x00"))
    pair.run()
    assert pair.handler.data == b"REDQ\x02\x00\x00\x00"
    pair.connection.write(b"REDQ")
    pair.connection.write(memoryview(b"\x00\x01"))
    assert parse_server_frames(pair.read_peer()) == [(BINARY, b"REDQ"), (BINARY, b"\x00\x01")]


def test_pending_counts_wire_bytes_and_writable_follows_the_drain(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.upgrade()
    payload = bytes(4 * 1024 * 1024)  # far more than a socket pair buffers
    pair.connection.write(payload)
    pending = pair.connection.pending
    assert 0 < pending <= len(payload) + 14
    got = bytearray()
    deadline = time.monotonic() + 10
    while pair.connection.pending and time.monotonic() < deadline:
        got += pair.read_peer()
        pair.run(0.01)
    got += pair.read_peer()
    assert pair.connection.pending == 0 and pair.handler.writable_calls >= 1
    assert parse_server_frames(bytes(got)) == [(BINARY, payload)]


def test_client_close_is_answered_and_closes(make_pair, caplog) -> None:
    caplog.set_level(logging.INFO, logger="spice_server")
    pair = make_pair(websocket=True)
    pair.upgrade()
    pair.peer.sendall(client_frame(b"bye") + client_frame(struct.pack("!H", 1000), CLOSE))
    pair.run()
    assert pair.handler.data == b"bye"
    assert pair.connection.closed
    assert pair.handler.lost == ["client closed the WebSocket (code 1000)"]
    assert parse_server_frames(pair.read_peer()) == [(CLOSE, struct.pack("!H", 1000))]


def test_bad_frame_closes_with_a_logged_reason(make_pair, caplog) -> None:
    caplog.set_level(logging.INFO, logger="spice_server")
    pair = make_pair(websocket=True)
    pair.upgrade()
    pair.peer.sendall(client_frame(b"REDQ", mask=False))
    pair.run()
    assert pair.connection.closed
    assert "unmasked" in pair.handler.lost[0]
    assert any(
        r.levelno == logging.WARNING and "unmasked" in r.getMessage() for r in caplog.records
    )
    ((opcode, payload),) = parse_server_frames(pair.read_peer())
    assert opcode == CLOSE and payload[:2] == struct.pack("!H", 1002)


def test_broken_http_request_gets_400_then_closes(make_pair, caplog) -> None:
    caplog.set_level(logging.INFO, logger="spice_server")
    pair = make_pair(websocket=True)
    pair.peer.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    pair.run()
    assert pair.connection.closed
    assert "bad WebSocket handshake" in pair.handler.lost[0]
    assert pair.read_peer().startswith(b"HTTP/1.1 400 ")


def test_server_close_says_goodbye_in_a_close_frame(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.upgrade()
    pair.connection.close("session ended")
    assert parse_server_frames(pair.read_peer()) == [(CLOSE, struct.pack("!H", 1000))]
    assert pair.handler.lost == ["session ended"]


def test_flushing_close_sends_the_queue_then_the_close_frame(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.upgrade()
    payload = bytes(4 * 1024 * 1024)
    pair.connection.write(payload)
    pair.connection.close("done", flush=True)
    got = bytearray()
    deadline = time.monotonic() + 10
    while not pair.connection.closed and time.monotonic() < deadline:
        got += pair.read_peer()
        pair.run(0.01)
    got += pair.read_peer()
    assert parse_server_frames(bytes(got)) == [
        (BINARY, payload),
        (CLOSE, struct.pack("!H", 1000)),
    ]


def test_peer_eof_closes_without_a_goodbye(make_pair) -> None:
    pair = make_pair(websocket=True)
    pair.upgrade()
    pair.peer.shutdown(socket.SHUT_WR)
    pair.run()
    assert pair.handler.lost == ["client closed the connection"]
    assert pair.read_peer() == b""


# -- the server's rule for browser origins ----------------------------------------------


@pytest.mark.parametrize(
    ("origin", "refused"),
    [
        (None, False),  # not a browser: it could open the TCP port anyway
        ("http://127.0.0.1:8000", False),
        ("http://localhost", False),
        ("http://[::1]:8080", False),
        ("https://example.com", True),
        ("http://127.0.0.1.example.com", True),
        ("null", True),  # sandboxed frames of any site, and file:// pages
        ("", True),
    ],
)
@pytest.mark.parametrize("password", [None, "pw"])
def test_only_loopback_pages_may_connect_with_or_without_a_password(
    origin, refused, password
) -> None:
    """With a password too: else any page could try passwords from the user's browser."""
    server = Server(port=None, password=password)
    assert (server.websocket_origin_refusal(origin) is not None) is refused


def test_allowed_origins_and_allow_insecure_admit_pages() -> None:
    server = Server(port=None, password="pw", websocket_origins=["https://Example.com/"])
    assert server.websocket_origin_refusal("https://example.com") is None
    assert server.websocket_origin_refusal("https://example.com:8443") is not None
    assert server.websocket_origin_refusal("http://example.com") is not None
    server = Server(port=None, allow_insecure=True)
    assert server.websocket_origin_refusal("https://example.com") is None


# -- the queue's budget ---------------------------------------------------------------------


class Replier(Handler):
    """Answers every byte with a 40-byte reply, as a channel answers tiny requests, and
    holds off while the connection is congested, as channel clients do."""

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.connection = connection
        self.unanswered = 0
        self.calls = 0

    def data_received(self, data: bytes) -> None:
        self.calls += 1
        self.unanswered += len(data)
        while self.unanswered and not self.connection.congested:
            self.unanswered -= 1
            self.connection.write(bytes(40))


def test_a_client_that_asks_and_never_reads_holds_a_bounded_queue(make_pair) -> None:
    pair = make_pair()
    replier = Replier(pair.connection)
    pair.connection.handler = replier
    pair.peer.setblocking(False)
    blocked = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (blocked and pair.connection.congested):
        try:
            pair.peer.send(bytes(65536))
        except BlockingIOError:
            blocked = True  # the server stopped reading: the client's socket is full
        pair.run(0.002)
    # Reading stopped at the pause mark: the client's requests wait in its own socket,
    # and what is queued is a few merged entries, not one object per reply.
    assert pair.connection.congested and not pair.connection.closed
    assert READ_PAUSE < pair.connection.held < READ_PAUSE + 64 * 1024
    assert len(pair.connection._queue) < pair.connection.held // 4096
    # Once the client reads, the queue drains and the waiting requests are answered.
    drained = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (replier.unanswered or pair.connection.pending):
        drained += len(pair.read_peer())
        pair.run(0.002)
    drained += len(pair.read_peer())
    assert replier.unanswered == 0 and not pair.connection.congested
    assert drained > READ_PAUSE and drained % 40 == 0


def test_entries_count_beyond_their_payload(make_pair) -> None:
    pair = make_pair(max_pending=10 * 1024 * 1024)
    pair.connection.write(bytes(8 * 1024 * 1024))  # more than a socket pair takes
    for _ in range(10):
        pair.connection.write(bytes(5000))  # too large to merge: an entry each
    assert pair.connection.held == pair.connection.pending + ENTRY_COST * len(
        pair.connection._queue
    )


def test_corked_writes_go_out_together_and_in_order(make_pair) -> None:
    """Inside ``corked`` nothing is sent; at its end everything goes, in order; what the
    socket does not take then waits in the queue and goes when it is writable."""
    pair = make_pair()
    calls: list[int] = []
    real = pair.connection.sock

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def send(self, data: object) -> int:
            calls.append(1)
            return real.send(data)  # type: ignore[arg-type]

        def sendmsg(self, buffers: list) -> int:
            calls.append(len(buffers))
            return real.sendmsg(buffers)

    pair.connection.sock = Counting()  # type: ignore[assignment]
    with pair.connection.corked():
        pair.connection.write(b"a" * 100)
        pair.connection.write(b"b" * 10_000)  # too big to be merged with the first
        pair.connection.write(b"c" * 50)
        assert pair.read_peer() == b"" and calls == []
        assert pair.connection.pending == 10_150
    assert calls == [3]  # one call for all three
    assert pair.read_peer() == b"a" * 100 + b"b" * 10_000 + b"c" * 50
    assert pair.connection.pending == 0

    big = b"x" * (8 << 20)  # more than the socket takes at once
    with pair.connection.corked():
        pair.connection.write(big)
    received = bytearray(pair.read_peer())
    while len(received) < len(big):
        pair.run(0.01)
        received += pair.read_peer()
    assert received == big and pair.connection.pending == 0


def test_writing_again_after_everything_was_confirmed_tells_the_link(make_pair) -> None:
    """The link idled from the last confirmation to this write: its estimate must not
    take that time for the link's pace (see LinkEstimate.resumed)."""
    pair = make_pair()
    resumed: list[int] = []
    pair.connection.link.resumed = resumed.append  # type: ignore[method-assign]
    pair.connection.write(b"x" * 1000)
    assert resumed == []  # nothing was ever confirmed: nothing is known
    pair.connection.confirm(1000)
    pair.connection.write(b"y" * 1000)  # everything written was confirmed
    pair.connection.write(b"z" * 1000)  # 1000 bytes are on their way: not idle
    assert resumed == [1000]
